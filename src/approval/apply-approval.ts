// Puts an approved proposal in force. An egress host joins `allow` in pipelock's policy
// file, rewritten in place (pipelock sees that file through a single-file bind mount, which
// keeps pointing at the old inode if the file is replaced by rename), then pipelock is told
// to reload with SIGHUP. A gitleaks exception is appended to the gate's allowlist, which is
// behind a directory mount, so there it is replaced atomically. Both are idempotent: applying
// the same approval twice changes nothing the second time. Putting the change in force where
// the sidecars run (a signal here, the node of a swarm) is the bottle's backend's, found by
// the name its state records; the approval returns once it is done.
import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { isMap, isSeq, parseDocument } from "yaml";
import type { Backend, PolicyChange } from "../backend/backend.js";
import { backendNameOf, readMetadata } from "../backend/bottle-state.js";
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
  /** The backend named so: the one a bottle's state says runs it. */
  backendOf(name: string): Pick<Backend, "putInForce">;
}

/** Applies the approval; returns one line per change, as the agent and the audit log see them. */
export async function applyApproval(
  ctx: ApplyContext,
  bottle: SupervisedBottle,
  request: ProposalRequest,
): Promise<string[]> {
  const edit =
    request.kind === "egress-host"
      ? await allowEgressHost(bottle, request.host, request.port)
      : await allowGitleaksFinding(bottle, request.fingerprint);
  if (edit.inForce === null) return edit.changes;
  return [...edit.changes, ...(await putInForce(ctx, bottle, edit.inForce))];
}

/** What an approval changed in the bottle's files, and the change its backend must put in force. */
interface PolicyEdit {
  changes: string[];
  inForce: PolicyChange | null;
}

async function allowEgressHost(
  bottle: SupervisedBottle,
  host: string,
  port: number | null,
): Promise<PolicyEdit> {
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
  if (edited.added) await writeInPlace(bottle.pipelockConfig, edited.text);
  return {
    changes: [
      edited.added
        ? `added ${pattern} to pipelock's allowlist`
        : `${pattern} was already on pipelock's allowlist`,
    ],
    // Put in force even when it was there already: the file may be ahead of pipelock.
    inForce: { kind: "pipelock-policy", path: bottle.pipelockConfig },
  };
}

async function allowGitleaksFinding(
  bottle: SupervisedBottle,
  fingerprint: string,
): Promise<PolicyEdit> {
  const problem = validateFingerprint(fingerprint);
  if (problem !== null) throw new BottleError(`refusing to apply: ${problem}`);
  await mkdir(dirname(bottle.gitleaksAllowFile), { recursive: true, mode: 0o755 });
  const text = (await readTextNoFollow(bottle.gitleaksAllowFile)) ?? "";
  const edited = addAllowLine(text, fingerprint);
  if (!edited.added) {
    return {
      changes: [`${fingerprint} was already on the git gate's gitleaks allowlist`],
      inForce: null,
    };
  }
  await writeFileAtomic(bottle.gitleaksAllowFile, edited.text, 0o644);
  return {
    changes: [`added ${fingerprint} to the git gate's gitleaks allowlist (read on every push)`],
    inForce: { kind: "gitleaks-allow", path: bottle.gitleaksAllowFile },
  };
}

/** The bottle's backend puts the change in force where its sidecars run. */
async function putInForce(
  ctx: ApplyContext,
  bottle: SupervisedBottle,
  change: PolicyChange,
): Promise<string[]> {
  const backend = ctx.backendOf(backendNameOf(await readMetadata(bottle.stateDir)));
  return backend.putInForce(bottle, change);
}
