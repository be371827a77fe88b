// Writes a bottle's state directory: every file its plan mounts, with private keys 0600
// and the directory 0700. Touches nothing outside the state directory and never Docker.
// Secret values are never written: only their names. The files a Node sidecar reads are
// owned by the user that sidecar runs as (see sidecarUserFor): the CLI's own user, or,
// when the CLI runs as root, the fixed sidecar user they are handed to here.
import { chmod, chown, lchown, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import { publishInitialPolicySnapshot } from "../approval/policy-snapshot.js";
import { GIT_GATE_ALLOWLIST_FILE, GIT_GATE_SCRIPTS } from "../contracts/git-gate.js";
import type { BottleBlueprint } from "../core/bottle-blueprint.js";
import { hasEgress, hasGitGate } from "../core/bottle-mounts.js";
import { bottlePlanToCompose, type SidecarUser, sidecarUserFor } from "../core/compose.js";
import { renderComposeYaml } from "../core/compose-yaml.js";
import { mintCa } from "../shared/ca/index.js";
import { BottleError, InputError } from "../shared/errors.js";
import { type GitGateScript, gitGateScriptSource } from "../sidecars/git-gate/scripts.js";
import { renderGitGateUpstreams } from "../sidecars/git-gate/upstreams-config.js";
import { hostUser } from "./compose-facts.js";

export interface PreparedBottle {
  blueprint: BottleBlueprint;
  composeFile: string;
  /** PEM bundle of every CA the agent must trust (pipelock's, and egress's when present). */
  agentCaBundle: string;
}

export interface PrepareOptions {
  now: Date;
  /** The CLI's uid and gid; the default is this process's. */
  host?: SidecarUser;
}

export const STATE_FILES = {
  compose: "compose.yaml",
  agentCa: "agent/ca-bundle.pem",
} as const;

/**
 * One file of a bottle's state, as content: what a backend writes to the host's disk
 * (Compose) or ships to its engine as a config or a secret.
 */
export interface StagedFile {
  path: string;
  content: string;
  mode: number;
  /** A Node sidecar reads it: owned by the sidecar's user when the CLI runs as root. */
  forSidecar: boolean;
}

export interface StagedBottle {
  files: StagedFile[];
  /** Directories that must exist (empty at first), with their modes. */
  dirs: Array<{ path: string; mode: number }>;
  /** PEM bundle of every CA the agent must trust (pipelock's, and egress's when present). */
  agentCaBundle: string;
}

/**
 * Everything prepare writes, decided in memory: fresh CAs, the policy files, the gate's
 * scripts. Writes nothing. Never holds a secret value: only the bottle's own CA keys.
 */
export async function stageBottle(blueprint: BottleBlueprint, now: Date): Promise<StagedBottle> {
  const { plan, stateDir } = blueprint;
  const files: StagedFile[] = [];
  const dirs: StagedBottle["dirs"] = [];
  const add = (path: string, content: string, mode: number, forSidecar = true) =>
    files.push({ path, content, mode, forSidecar });

  const pipelockCa = await mintCa({ commonName: `claude-bottle pipelock ${plan.slug}`, now });
  add(plan.proxyPlan.caCertHostPath, pipelockCa.certPem, 0o644);
  add(plan.proxyPlan.caKeyHostPath, pipelockCa.keyPem, 0o600);
  add(plan.proxyPlan.configPath, stringify(blueprint.pipelockPolicy), 0o644);
  let agentCaBundle = pemLine(pipelockCa.certPem);

  if (hasEgress(plan)) {
    const egressCa = await mintCa({ commonName: `claude-bottle egress ${plan.slug}`, now });
    add(plan.egressPlan.caCertHostPath, egressCa.certPem, 0o644);
    add(plan.egressPlan.caKeyHostPath, egressCa.keyPem, 0o600);
    add(plan.egressPlan.routesPath, stringify(egressRoutesFile(blueprint)), 0o644);
    agentCaBundle += pemLine(egressCa.certPem);
  }
  if (hasGitGate(plan)) {
    const gp = plan.gitGatePlan;
    // Executable, or git would skip the pre-receive hook and let pushes through unscanned.
    for (const script of Object.keys(GIT_GATE_SCRIPTS) as GitGateScript[]) {
      add(gp[script], await readFile(gitGateScriptSource(script), "utf8"), 0o755, false);
    }
    add(gp.upstreamsConfigPath, renderGitGateUpstreams(gp.upstreams), 0o644, false);
    // The hooks read the allowlist as the gate's own user, whatever uid staged it: fingerprints
    // are no secret, and an unreadable allowlist would silently drop every approved exception.
    dirs.push({ path: gp.allowlistDir, mode: 0o755 });
    add(join(gp.allowlistDir, GIT_GATE_ALLOWLIST_FILE), "", 0o644, false);
  }
  if (plan.supervisePlan !== null) {
    dirs.push({ path: plan.supervisePlan.queueDir, mode: 0o700 });
    dirs.push({ path: plan.supervisePlan.currentConfigDir, mode: 0o755 });
  }
  if (plan.envFile !== null)
    add(plan.envFile, renderEnvFile(blueprint.agentEnvLiterals), 0o600, false);
  add(`${stateDir}/${STATE_FILES.agentCa}`, agentCaBundle, 0o644, false);
  return { files, dirs, agentCaBundle };
}

/**
 * Makes the bottle's state directory, failing if it exists: a slug drawn twice must not
 * share another bottle's state (its keys, its queue), nor remove it when this start fails.
 */
async function claimStateDir(stateDir: string, slug: string): Promise<void> {
  await mkdir(dirname(stateDir), { recursive: true, mode: 0o700 });
  try {
    await mkdir(stateDir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    throw new BottleError(`another bottle already has the slug ${slug} (${stateDir} exists)`, {
      hint: "start it again: each start draws a new slug",
    });
  }
}

export async function prepareBottle(
  blueprint: BottleBlueprint,
  options: PrepareOptions,
): Promise<PreparedBottle> {
  const { plan, stateDir } = blueprint;
  const host = options.host ?? hostUser();
  const sidecar = sidecarUserFor(host);
  // Only root can give a file away; any other CLI already owns what its sidecars read.
  const owner = sidecar.uid === host.uid && sidecar.gid === host.gid ? null : sidecar;
  await claimStateDir(stateDir, plan.slug);
  await chmod(stateDir, 0o700);
  try {
    const staged = await stageBottle(blueprint, options.now);
    for (const dir of staged.dirs) {
      await mkdir(dir.path, { recursive: true, mode: dir.mode });
      await chmod(dir.path, dir.mode);
    }
    for (const f of staged.files) await put(f.path, f.content, f.mode, f.forSidecar ? owner : null);
    if (plan.supervisePlan !== null) {
      // What show_policy answers and the agent can read, before any approval changes it.
      await publishInitialPolicySnapshot(blueprint, options.now);
      // supervise writes proposals into the queue; the host's answers stay readable to it (0644).
      if (owner !== null) await chownTree(plan.supervisePlan.queueDir, owner);
    }
    const composeFile = `${stateDir}/${STATE_FILES.compose}`;
    await put(composeFile, renderBottleCompose(blueprint, host), 0o644);
    return { blueprint, composeFile, agentCaBundle: staged.agentCaBundle };
  } catch (error) {
    // Nothing half-written survives a failed prepare.
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
}

/** The compose file of a bottle as prepare writes it (the env file holds the literals, if any). */
export function renderBottleCompose(
  blueprint: BottleBlueprint,
  host: SidecarUser = hostUser(),
): string {
  const facts = {
    envFileNonEmpty: Object.keys(blueprint.agentEnvLiterals).length > 0,
    sidecarUser: sidecarUserFor(host),
  };
  return renderComposeYaml(bottlePlanToCompose(blueprint.plan, facts));
}

/** PEM blocks in a bundle must each end their line, or the next BEGIN is not seen. */
function pemLine(pem: string): string {
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}

async function put(
  path: string,
  content: string,
  mode: number,
  owner: SidecarUser | null = null,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, content, { mode });
  // Owner first: the mode is then set on the file as its reader will find it.
  if (owner !== null) await chown(path, owner.uid, owner.gid);
  await chmod(path, mode);
}

async function chownTree(path: string, owner: SidecarUser): Promise<void> {
  await chown(path, owner.uid, owner.gid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, owner);
    else await lchown(child, owner.uid, owner.gid);
  }
}

export function egressRoutesFile(blueprint: BottleBlueprint) {
  return {
    routes: blueprint.plan.egressPlan.routes.map((r) => ({
      host: r.host,
      paths: r.pathPrefixes,
      methods: r.methods.length === 0 ? "all" : r.methods,
      auth: r.auth,
    })),
  };
}

/**
 * Single-quoted values are taken literally by Compose's env-file parser (no "$"
 * interpolation, no escapes); a value holding a quote or a newline cannot be written that
 * way, so the manifest layer must refuse it (it does: env literals are single-line).
 */
export function renderEnvFile(literals: Record<string, string>): string {
  return Object.keys(literals)
    .sort()
    .map((name) => {
      const value = literals[name] ?? "";
      if (value.includes("'") || value.includes("\n")) {
        throw new InputError(
          `env ${name}: a literal value with a single quote or a newline cannot be passed`,
          {
            hint: `put the value in a host variable and reference it: ${name}: { from_env: HOST_VAR }`,
          },
        );
      }
      return `${name}='${value}'\n`;
    })
    .join("");
}
