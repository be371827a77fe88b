// Scans every corpus item as the sidecars scan it: a request through pipelock's own policy
// (buildPolicy: the scanner options, known secrets and per-host grants a bottle's pipelock
// has), a WebSocket connection's messages as pipelock's relay scans them (each whole, and each
// seam with the tail of the one before), and a git repository as git-gate's push scan reads a
// first push. Every refusal names the item, the rule and the place, never a value.
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { DlpVerdict } from "../../src/shared/dlp/index.js";
import { openGitRepository } from "../../src/sidecars/git-gate/git-repository.js";
import { scanPush } from "../../src/sidecars/git-gate/push-scan.js";
import { type NormalizedHost, normalizeHost } from "../../src/sidecars/pipelock/allowlist.js";
import { PipelockConfigSchema } from "../../src/sidecars/pipelock/config.js";
import { buildPolicy, type Policy } from "../../src/sidecars/pipelock/policy.js";
import { scanMessage } from "../../src/sidecars/pipelock/websocket-relay.js";
import type { CorpusItem, CorpusManifest } from "./corpus-types.js";

export interface Refusal {
  rule: string;
  place: string;
}

export interface ItemResult {
  item: CorpusItem;
  bytes: number;
  ms: number;
  refusals: Refusal[];
}

export interface ScanCorpusOptions {
  /** The bottle's secret env values; random ones (not in the corpus) unless given. */
  secrets?: Record<string, string>;
  log?: (line: string) => void;
}

/** The secrets a bottle's pipelock holds: one granted to the model API host, two to none. */
export const SECRET_GRANTS = [
  "GITHUB_TOKEN",
  "DATABASE_PASSWORD",
  { env: "ANTHROPIC_API_KEY", hosts: ["api.anthropic.example.test"] },
] as const;

export function randomSecrets(): Record<string, string> {
  const alnum = (n: number) => {
    const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return Array.from({ length: n }, () => abc[randomInt(abc.length)]).join("");
  };
  return {
    GITHUB_TOKEN: `ghp_${alnum(36)}`,
    DATABASE_PASSWORD: alnum(24),
    ANTHROPIC_API_KEY: `sk-ant-api03-${alnum(93)}AA`,
  };
}

export function corpusPolicy(secrets: Record<string, string>): Policy {
  const config = PipelockConfigSchema.parse({
    allow: ["*.example.test", "example.test"],
    dlp: { action: "block", secretEnv: SECRET_GRANTS },
  });
  return buildPolicy(config, secrets);
}

export async function scanCorpus(
  dir: string,
  manifest: CorpusManifest,
  options: ScanCorpusOptions = {},
): Promise<ItemResult[]> {
  const secrets = options.secrets ?? randomSecrets();
  const policy = corpusPolicy(secrets);
  if (policy.warnings.length > 0) throw new Error(`pipelock policy: ${policy.warnings.join("; ")}`);
  const results: ItemResult[] = [];
  for (const item of manifest.items) {
    const started = performance.now();
    let bytes = 0;
    let refusals: Refusal[] = [];
    if (item.carriage === "request") {
      const body = readFileSync(join(dir, item.file));
      bytes = body.length;
      refusals = await scanRequest(policy, item, body);
    } else if (item.carriage === "websocket") {
      const all = readFileSync(join(dir, item.file));
      bytes = all.length;
      refusals = scanWebsocket(policy, item, all);
    } else if (item.carriage === "push") {
      const scanned = await scanGitPush(join(dir, item.file), item, secrets);
      bytes = scanned.bytes;
      refusals = scanned.refusals;
    } else {
      continue;
    }
    const ms = performance.now() - started;
    results.push({ item, bytes, ms, refusals });
    options.log?.(
      `${item.kind} ${item.name}: ${bytes} bytes, ${ms.toFixed(0)} ms, ${refusals.length} refusals`,
    );
  }
  await policy.retire();
  return results;
}

/** As pipelock's request handler: size limit first, then one scan of the whole request. */
async function scanRequest(policy: Policy, item: CorpusItem, body: Buffer): Promise<Refusal[]> {
  if (body.length > policy.config.maxBodyBytes) {
    return [{ rule: "body-too-large", place: "body" }];
  }
  const headers: [string, string][] = [["Host", item.host], ...item.headers];
  if (item.contentType !== undefined) headers.push(["Content-Type", item.contentType]);
  if (item.contentEncoding !== undefined) headers.push(["Content-Encoding", item.contentEncoding]);
  headers.push(["Content-Length", String(body.length)]);
  const { verdict } = await policy.scanRequest(
    {
      ...(item.path === undefined ? {} : { path: item.path }),
      ...(item.query === undefined ? {} : { query: item.query }),
      headers,
      body: { bytes: body, contentType: item.contentType, contentEncoding: item.contentEncoding },
    },
    policy.secretsAllowedTo(hostOf(item), 443),
  );
  if (verdict.status === "unscannable") {
    return [{ rule: `unscannable (${verdict.reason})`, place: verdict.detail }];
  }
  if (verdict.status === "findings") {
    return verdict.findings.map((f) => ({ rule: ruleOf(f), place: f.location }));
  }
  const sent = `${item.path ?? "/"}${item.query === undefined ? "" : `?${item.query}`}`;
  return wholeOverRequests(policy, verdict.pieces, body.length + sent.length);
}

/**
 * As pipelock after a clean scan: the request's pieces of known secrets join what the bottle
 * sent before (over every host and connection); a secret they make whole is a refusal. Called
 * through the policy's window, so an engine from before the window (--engine) skips it.
 */
function wholeOverRequests(policy: Policy, pieces: DlpVerdict["pieces"], size: number): Refusal[] {
  const window = (policy as Partial<Pick<Policy, "sentWindow">>).sentWindow;
  if (window === undefined) return [];
  return window
    .offer(pieces, size)
    .map((name) => ({ rule: `known-secret ${name} cut over requests`, place: "requests" }));
}

function hostOf(item: CorpusItem): NormalizedHost {
  const host = normalizeHost(item.host);
  if (host === undefined) throw new Error(`${item.name}: "${item.host}" is not a host name`);
  return host;
}

function ruleOf(f: { ruleId: string; secretName?: string; encoding?: string }): string {
  if (f.secretName === undefined) return f.ruleId;
  const form = f.encoding === undefined || f.encoding === "verbatim" ? "" : ` as ${f.encoding}`;
  return `${f.ruleId} ${f.secretName}${form}`;
}

/** As pipelock's WebSocket relay scans a client's messages, seams included. */
function scanWebsocket(policy: Policy, item: CorpusItem, all: Buffer): Refusal[] {
  const allowedSecrets = policy.secretsAllowedTo(hostOf(item), 443);
  const refusals: Refusal[] = [];
  let tail: Buffer = Buffer.alloc(0);
  let at = 0;
  for (const [i, length] of (item.messages ?? []).entries()) {
    const payload = all.subarray(at, at + length);
    at += length;
    if (payload.length > policy.config.maxBodyBytes) {
      refusals.push({ rule: "message-too-large", place: `message ${i + 1}` });
      continue;
    }
    const scanned = scanMessage(policy.scanner, allowedSecrets, tail, payload);
    tail = scanned.tail;
    const { verdict, pieces } = scanned;
    if (verdict.status === "clean") {
      for (const r of wholeOverRequests(policy, pieces, payload.length)) {
        refusals.push({ rule: r.rule, place: `message ${i + 1}` });
      }
    } else if (verdict.status === "unscannable") {
      refusals.push({
        rule: `unscannable (${verdict.reason})`,
        place: `message ${i + 1}: ${verdict.detail}`,
      });
    } else if (verdict.status === "findings") {
      for (const f of verdict.findings) {
        refusals.push({ rule: ruleOf(f), place: `message ${i + 1} ${f.location}` });
      }
    }
  }
  return refusals;
}

/** As git-gate's pre-receive hook: the DLP half of its scan (gitleaks runs beside it). */
async function scanGitPush(
  repoDir: string,
  item: CorpusItem,
  secrets: Record<string, string>,
): Promise<{ bytes: number; refusals: Refusal[] }> {
  const push = item.push;
  if (push === undefined) throw new Error(`${item.name}: a push item needs its ref and commit`);
  const repository = await openGitRepository(repoDir);
  let bytes = 0;
  const counted = {
    ...repository,
    newObjects: async (tips: readonly string[]) => {
      const objects = await repository.newObjects(tips);
      bytes = objects.reduce((n, o) => n + o.size, 0);
      return objects;
    },
  };
  try {
    const report = await scanPush({
      updates: [{ ref: push.ref, oldId: "0".repeat(40), newId: push.newId }],
      repository: counted,
      knownSecrets: Object.entries(secrets).map(([name, value]) => ({ name, value })),
    });
    return {
      bytes,
      refusals: [
        ...report.findings.map((f) => ({
          rule: f.rule,
          place: `commit ${f.commit.slice(0, 12)} ${f.place}`,
        })),
        ...report.refusals.map((r) => ({
          rule: "refused",
          place: `commit ${r.commit.slice(0, 12)} ${r.place}: ${r.reason}`,
        })),
      ],
    };
  } finally {
    repository.close();
  }
}
