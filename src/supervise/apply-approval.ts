// Puts an approved proposal in force. An egress host joins `allow` in pipelock's policy
// file, rewritten in place (pipelock sees that file through a single-file bind mount, which
// keeps pointing at the old inode if the file is replaced by rename), then pipelock is told
// to reload with SIGHUP. A gitleaks exception is appended to the gate's allowlist, which is
// behind a directory mount, so there it is replaced atomically. Both are idempotent: applying
// the same approval twice changes nothing the second time. A swarm bottle's sidecars run on
// another machine: the CLI that started it takes each change to the node and signals
// pipelock (state-mirror.ts), and the approval returns once it has.
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { isMap, isSeq, parseDocument } from "yaml";
import { ranBy, readMetadata } from "../backend/docker/bottle-state.js";
import type { DockerClient } from "../backend/docker/docker-client.js";
import { waitUntilOnNode } from "../backend/swarm/state-mirror.js";
import { pipelockContainerName } from "../contracts/pipelock.js";
import type { ProposalRequest } from "../contracts/queue-format.js";
import { validateEgressHost, validateFingerprint } from "../contracts/request-validation.js";
import { BottleError } from "../shared/errors.js";
import { readTextNoFollow, writeFileAtomic } from "../shared/queue-files.js";
import type { SupervisedBottle } from "./supervised-bottle.js";

/** pipelock's allowlist pattern for one host and port ("[v6]:port" needs the brackets). */
export function allowPatternFor(host: string, port: number | null): string {
  if (port === null) return host;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Adds `pattern` to the policy's `allow` list, keeping every other key and comment. */
export function addAllowPattern(
  yamlText: string,
  pattern: string,
  label: string,
): { text: string; added: boolean } {
  const doc = parseDocument(yamlText.trim() === "" ? "{}" : yamlText);
  if (doc.errors.length > 0 || (doc.contents !== null && !isMap(doc.contents))) {
    throw new BottleError(`${label} does not parse as pipelock's policy`, {
      hint: "fix the file by hand, then approve again",
    });
  }
  const allow = doc.get("allow", true);
  if (allow !== undefined && allow !== null && !isSeq(allow)) {
    throw new BottleError(`${label}: "allow" is not a list`, {
      hint: "fix the file by hand, then approve again",
    });
  }
  const current = isSeq(allow) ? (allow.toJSON() as unknown[]).map(String) : [];
  if (current.some((p) => p.toLowerCase() === pattern.toLowerCase())) {
    return { text: yamlText, added: false };
  }
  if (isSeq(allow)) allow.add(doc.createNode(pattern));
  else doc.set("allow", doc.createNode([pattern]));
  return { text: doc.toString(), added: true };
}

/**
 * Rewrites a file on the same inode: write over it, then cut it to length. There is never
 * an empty file for pipelock to read as "deny everything"; a torn read fails to parse and
 * pipelock keeps its last policy until the SIGHUP that follows.
 */
export async function writeInPlace(path: string, text: string): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const bytes = Buffer.from(text, "utf8");
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.truncate(bytes.length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Adds one line to a newline-separated allowlist text unless it is there already. */
export function addAllowLine(text: string, line: string): { text: string; added: boolean } {
  const lines = text.split("\n").map((l) => l.trim());
  if (lines.includes(line)) return { text, added: false };
  const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return { text: `${base}${line}\n`, added: true };
}

export interface ApplyContext {
  docker: DockerClient;
}

/** Applies the approval; returns one line per change, as the agent and the audit log see them. */
export async function applyApproval(
  ctx: ApplyContext,
  bottle: SupervisedBottle,
  request: ProposalRequest,
): Promise<string[]> {
  if (request.kind === "egress-host")
    return applyEgressHost(ctx, bottle, request.host, request.port);
  return applyGitleaksException(bottle, request.fingerprint);
}

async function applyEgressHost(
  ctx: ApplyContext,
  bottle: SupervisedBottle,
  host: string,
  port: number | null,
): Promise<string[]> {
  // The queue is writable from a container: check again what is about to become policy.
  const problem = validateEgressHost(host);
  if (problem !== null) throw new BottleError(`refusing to apply: ${problem}`);
  const pattern = allowPatternFor(host, port);
  const text = await readTextNoFollow(bottle.pipelockConfig);
  if (text === null) {
    throw new BottleError(`pipelock's policy file ${bottle.pipelockConfig} is missing`, {
      hint: "the bottle's state directory is incomplete; restart the bottle",
    });
  }
  const edited = addAllowPattern(text, pattern, bottle.pipelockConfig);
  const changes: string[] = [];
  if (edited.added) {
    await writeInPlace(bottle.pipelockConfig, edited.text);
    changes.push(`added ${pattern} to pipelock's allowlist`);
  } else {
    changes.push(`${pattern} was already on pipelock's allowlist`);
  }
  const onSwarm = await swarmNodeOf(bottle);
  if (onSwarm !== null) {
    changes.push(...(await onNode(bottle.pipelockConfig, onSwarm)));
    return changes;
  }
  const container = pipelockContainerName(bottle.slug);
  const hup = await ctx.docker.run(["kill", "-s", "HUP", container], { allowFailure: true });
  if (hup.exitCode !== 0) {
    changes.push(
      `could not signal ${container} to reload (${lastLine(hup.stderr)}); it reloads when it sees the file change`,
    );
  }
  return changes;
}

async function applyGitleaksException(
  bottle: SupervisedBottle,
  fingerprint: string,
): Promise<string[]> {
  const problem = validateFingerprint(fingerprint);
  if (problem !== null) throw new BottleError(`refusing to apply: ${problem}`);
  await mkdir(dirname(bottle.gitleaksAllowFile), { recursive: true, mode: 0o755 });
  const text = (await readTextNoFollow(bottle.gitleaksAllowFile)) ?? "";
  const edited = addAllowLine(text, fingerprint);
  if (!edited.added) return [`${fingerprint} was already on the git gate's gitleaks allowlist`];
  await writeFileAtomic(bottle.gitleaksAllowFile, edited.text, 0o644);
  const changes = [
    `added ${fingerprint} to the git gate's gitleaks allowlist (read on every push)`,
  ];
  const onSwarm = await swarmNodeOf(bottle);
  if (onSwarm !== null) changes.push(...(await onNode(dirname(bottle.gitleaksAllowFile), onSwarm)));
  return changes;
}

/** How long an approval waits for a swarm bottle's CLI to take it to the node (about 1 s). */
const ON_NODE_TIMEOUT_MS = 15_000;

/** The swarm node a bottle runs on, or null for a bottle on this machine's engine. */
async function swarmNodeOf(bottle: SupervisedBottle): Promise<string | null> {
  const metadata = await readMetadata(bottle.stateDir);
  return ranBy(metadata, "swarm") ? (metadata?.node ?? "its node") : null;
}

/** Nothing when the change is in force on the node; else a line saying it is not yet. */
async function onNode(source: string, node: string): Promise<string[]> {
  if (await waitUntilOnNode(source, ON_NODE_TIMEOUT_MS)) return [];
  return [
    `not yet in force on swarm node ${node}: the CLI attached to this bottle (\`start\`, or \`resume\` if that one is gone) takes it there while it runs`,
  ];
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() || "no error output";
}
