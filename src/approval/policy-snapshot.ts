// The bottle's policy as the agent may read it (`show_policy`, and `policy.json` in the
// current-config directory): pipelock's allowlist and DLP action, the routes without their
// tokens, the git remotes and the approved gitleaks exceptions. Built from the bottle's plan
// when it is prepared, then refreshed from the state files after every approval. Never holds
// a secret, a token's env name or a path to a key.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { gitGateRepoUrl } from "../contracts/git-gate.js";
import { type PolicySnapshot, PolicySnapshotSchema } from "../contracts/queue-format.js";
import { POLICY_SNAPSHOT_FILE } from "../contracts/supervise.js";
import type { BottleBlueprint } from "../core/bottle-blueprint.js";
import {
  ensureQueueDirs,
  queuePaths,
  readQueueFile,
  readTextNoFollow,
  toJsonText,
  writeFileAtomic,
} from "../shared/queue-files.js";
import type { SupervisedBottle } from "./supervised-bottle.js";

type Routes = PolicySnapshot["egress"]["routes"];
type Remotes = PolicySnapshot["git"]["remotes"];

/** The snapshot of a freshly planned bottle; prepare publishes it before `up`. */
export function initialPolicySnapshot(blueprint: BottleBlueprint, now: Date): PolicySnapshot {
  const { plan, pipelockPolicy } = blueprint;
  const gate = plan.gitGatePlan.upstreams.length > 0;
  return PolicySnapshotSchema.parse({
    version: 1,
    slug: plan.slug,
    updatedAt: now.toISOString(),
    egress: {
      allow: pipelockPolicy.allow,
      dlp: pipelockPolicy.dlp.action,
      routes: plan.egressPlan.routes.map((r) => ({
        host: r.host,
        paths: r.pathPrefixes,
        methods: r.methods.length === 0 ? "all" : r.methods,
      })),
    },
    git: {
      remotes: plan.gitGatePlan.upstreams.map((u) => ({
        name: u.name,
        url: u.url,
        gateUrl: gate ? gitGateRepoUrl(plan.slug, u.name) : null,
      })),
      gitleaksExceptions: [],
    },
  });
}

/**
 * The snapshot as the state files say now: allowlist and DLP action from pipelock's policy,
 * exceptions from the gate's allowlist; routes and remotes (which supervision never changes)
 * from the last published snapshot, else from the routes file.
 */
export async function currentPolicySnapshot(
  bottle: SupervisedBottle,
  now: Date,
): Promise<PolicySnapshot> {
  const previous = await readQueueFile(
    queuePaths(bottle.queueDir).policy,
    PolicySnapshotSchema,
  ).catch(() => null);
  const pipelock = asRecord(parseYamlOrNull(await readTextNoFollow(bottle.pipelockConfig)));
  const dlp = asRecord(pipelock.dlp).action;
  const exceptions = ((await readTextNoFollow(bottle.gitleaksAllowFile)) ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  return PolicySnapshotSchema.parse({
    version: 1,
    slug: bottle.slug,
    updatedAt: now.toISOString(),
    egress: {
      allow: Array.isArray(pipelock.allow) ? pipelock.allow.map(String) : [],
      dlp: dlp === "block" || dlp === "warn" ? dlp : null,
      routes: previous?.egress.routes ?? (await routesFromFile(bottle)),
    },
    git: {
      remotes: previous?.git.remotes ?? ([] as Remotes),
      gitleaksExceptions: exceptions,
    },
  });
}

/** Writes the snapshot into the queue (for show_policy) and the agent's current-config dir. */
export async function publishPolicySnapshot(
  paths: { queueDir: string; currentDir: string },
  snapshot: PolicySnapshot,
): Promise<void> {
  const text = toJsonText(snapshot);
  await ensureQueueDirs(paths.queueDir);
  await writeFileAtomic(queuePaths(paths.queueDir).policy, text, 0o644);
  await mkdir(paths.currentDir, { recursive: true, mode: 0o755 });
  await writeFileAtomic(join(paths.currentDir, POLICY_SNAPSHOT_FILE), text, 0o644);
}

/** Publishes the first snapshot of a supervised bottle; a no-op for an unsupervised one. */
export async function publishInitialPolicySnapshot(
  blueprint: BottleBlueprint,
  now: Date,
): Promise<void> {
  const sp = blueprint.plan.supervisePlan;
  if (sp === null) return;
  await publishPolicySnapshot(
    { queueDir: sp.queueDir, currentDir: sp.currentConfigDir },
    initialPolicySnapshot(blueprint, now),
  );
}

export async function refreshPolicySnapshot(
  bottle: SupervisedBottle,
  now: Date,
): Promise<PolicySnapshot> {
  const snapshot = await currentPolicySnapshot(bottle, now);
  await publishPolicySnapshot(bottle, snapshot);
  return snapshot;
}

async function routesFromFile(bottle: SupervisedBottle): Promise<Routes> {
  const file = asRecord(parseYamlOrNull(await readTextNoFollow(bottle.egressRoutes)));
  if (!Array.isArray(file.routes)) return [];
  return file.routes.map((raw) => {
    const route = asRecord(raw);
    return {
      host: String(route.host ?? ""),
      paths: Array.isArray(route.paths) ? route.paths.map(String) : ["/"],
      methods: Array.isArray(route.methods) ? route.methods.map(String) : "all",
    };
  });
}

function parseYamlOrNull(text: string | null): unknown {
  if (text === null) return null;
  try {
    return parse(text);
  } catch {
    return null;
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
