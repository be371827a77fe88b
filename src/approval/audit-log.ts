// The supervision audit log: one JSON Lines file per bottle, `<home>/audit/<slug>.jsonl`,
// written only by the host (the sidecar is reachable from the agent; the log must not be).
// Hash-chained: each line is canonical JSON (keys sorted, no spaces) holding its sequence
// number, the SHA-256 of the previous line (`prev`) and the SHA-256 of its own fields
// (`hash`), so an edited line, a deleted or moved one, and a cut-off end are each found and
// named by line. A head file beside it (`<log>.head`) records the last entry, so lines cut
// from the end are found too. Appends must run under the bottle's decision lock.
import { createHash } from "node:crypto";
import { appendFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readTextNoFollow, writeFileAtomic } from "../shared/queue-files.js";

export const GENESIS_HASH = "0".repeat(64);

export function auditLogPath(home: string, slug: string): string {
  return join(home, "audit", `${slug}.jsonl`);
}

export function auditHeadPath(logPath: string): string {
  return `${logPath}.head`;
}

/** What an entry says, before the chain fields are added. */
export type AuditEvent = { event: string } & Record<string, unknown>;

export interface AuditEntry extends Record<string, unknown> {
  seq: number;
  at: string;
  event: string;
  prev: string;
  hash: string;
}

/** JSON with object keys sorted at every level and no whitespace: one text per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function ownHash(entry: Record<string, unknown>): string {
  const { hash: _hash, ...fields } = entry;
  return sha256(canonicalJson(fields));
}

/** An audit log is the host's own, but its entries quote the agent: read it within a bound. */
const MAX_AUDIT_BYTES = 256 * 1024 * 1024;

interface Head {
  seq: number;
  lineHash: string;
}

/** The lines of the log as written, without the final newline. */
async function readLines(path: string): Promise<{ lines: string[]; complete: boolean } | null> {
  const text = await readTextNoFollow(path, MAX_AUDIT_BYTES);
  if (text === null) return null;
  if (text === "") return { lines: [], complete: true };
  const complete = text.endsWith("\n");
  const lines = (complete ? text.slice(0, -1) : text).split("\n");
  return { lines, complete };
}

/** Appends entries to the chain; the caller holds the bottle's decision lock. */
export async function appendAuditEntries(
  path: string,
  events: readonly AuditEvent[],
  now: () => Date,
): Promise<AuditEntry[]> {
  if (events.length === 0) return [];
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const read = await readLines(path);
  let seq = 0;
  let prev = GENESIS_HASH;
  for (const line of [...(read?.lines ?? [])].reverse()) {
    const parsed = parseEntry(line);
    if (parsed !== null) {
      seq = parsed.seq;
      prev = sha256(line);
      break;
    }
  }
  const entries: AuditEntry[] = [];
  let text = read !== null && !read.complete ? "\n" : "";
  for (const event of events) {
    seq += 1;
    const fields = { ...event, seq, at: now().toISOString(), prev };
    const entry = { ...fields, hash: sha256(canonicalJson(fields)) } as AuditEntry;
    const line = canonicalJson(entry);
    entries.push(entry);
    text += `${line}\n`;
    prev = sha256(line);
  }
  // One write: a reader (or a crash) sees whole lines or none of this batch's.
  await appendFile(path, text, { mode: 0o600 });
  const head: Head = { seq, lineHash: prev };
  await writeFileAtomic(auditHeadPath(path), `${JSON.stringify(head)}\n`, 0o600);
  return entries;
}

/** Every entry of the log that parses, in file order (for lookups, not for trust). */
export async function readAuditEntries(path: string): Promise<AuditEntry[]> {
  const read = await readLines(path);
  return (read?.lines ?? []).map(parseEntry).filter((e): e is AuditEntry => e !== null);
}

function parseEntry(line: string): AuditEntry | null {
  try {
    const value = JSON.parse(line) as unknown;
    return isEntryShape(value) ? value : null;
  } catch {
    return null;
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

function isEntryShape(value: unknown): value is AuditEntry {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const e = value as Record<string, unknown>;
  return (
    Number.isInteger(e.seq) &&
    (e.seq as number) >= 1 &&
    typeof e.at === "string" &&
    typeof e.event === "string" &&
    typeof e.prev === "string" &&
    HEX64.test(e.prev) &&
    typeof e.hash === "string" &&
    HEX64.test(e.hash)
  );
}

export type AuditProblem = "edited" | "deleted" | "reordered" | "truncated" | "malformed";

export type AuditVerification =
  | { ok: true; path: string; entries: number }
  | {
      ok: false;
      path: string;
      /** Entries verified before the problem. */
      entries: number;
      /** 1-based line of the first problem. */
      line: number;
      problem: AuditProblem;
      message: string;
    };

/** Recomputes the chain; reports the first line that breaks it. Null when there is no log. */
export async function verifyAuditLog(path: string): Promise<AuditVerification | null> {
  const read = await readLines(path);
  if (read === null) return null;
  const headText = await readTextNoFollow(auditHeadPath(path)).catch(() => null);
  return verifyAuditText(path, read, headText === null ? null : parseHead(headText));
}

function parseHead(text: string): Head | null {
  try {
    const head = JSON.parse(text) as Head;
    return Number.isInteger(head.seq) && HEX64.test(head.lineHash) ? head : null;
  } catch {
    return null;
  }
}

interface AuditFailure {
  line: number;
  problem: AuditProblem;
  message: string;
  /** Entries verified before it. */
  entries: number;
}

function verifyAuditText(
  path: string,
  read: { lines: string[]; complete: boolean },
  head: Head | null,
): AuditVerification {
  const fail = (f: AuditFailure) => ({
    ok: false as const,
    path,
    entries: f.entries,
    line: f.line,
    problem: f.problem,
    message: f.message,
  });
  let prevLine: string | null = null;
  let prevSeq = 0;
  const hashes: string[] = [];
  for (const [index, line] of read.lines.entries()) {
    const checked = checkLine(read, index, prevLine, prevSeq);
    if ("problem" in checked) return fail(checked);
    prevLine = line;
    prevSeq = checked.seq;
    hashes.push(sha256(line));
  }
  const headFailure = head === null ? null : checkHead(head, prevSeq, hashes, read.lines.length);
  if (headFailure !== null) return fail(headFailure);
  return { ok: true, path, entries: read.lines.length };
}

/** Line `index` read as the entry after `prevLine` (entry `prevSeq`), or why it is not one. */
function checkLine(
  read: { lines: string[]; complete: boolean },
  index: number,
  prevLine: string | null,
  prevSeq: number,
): { seq: number } | AuditFailure {
  const { lines } = read;
  const line = lines[index] as string;
  const n = index + 1;
  const failure = (problem: AuditProblem, message: string, at = n, entries = index) => ({
    line: at,
    problem,
    message,
    entries,
  });
  if (index === lines.length - 1 && !read.complete) {
    return failure("truncated", "the last line is incomplete: the log was cut off");
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return failure("malformed", "not a JSON line");
  }
  if (!isEntryShape(value)) {
    return failure("malformed", "not an audit entry (seq, at, event, prev, hash)");
  }
  if (canonicalJson(value) !== line) {
    return failure("edited", "the line is not as the log writes it (not canonical JSON)");
  }
  if (ownHash(value) !== value.hash) return failure("edited", "its fields do not match its hash");
  const expected = prevSeq + 1;
  if (value.seq > expected) {
    const later = lines.findIndex((l, i) => i > index && parseEntry(l)?.seq === expected);
    if (later !== -1) {
      const where = `line ${later + 1}`;
      return failure("reordered", `entry ${value.seq} comes before entry ${expected} (${where})`);
    }
    const gap = value.seq - 1 === expected ? `${expected} is` : `${expected}–${value.seq - 1} are`;
    return failure("deleted", `entry ${gap} missing (found entry ${value.seq})`);
  }
  if (value.seq < expected) {
    return failure("reordered", `entry ${value.seq} comes after entry ${prevSeq}`);
  }
  const prevHash = prevLine === null ? GENESIS_HASH : sha256(prevLine);
  if (value.prev !== prevHash && prevLine === null) {
    return failure("edited", "the first entry does not start the chain");
  }
  if (value.prev !== prevHash) {
    // The entry before was rewritten with a fresh hash: that line is the edited one.
    return failure("edited", `line ${n} recorded a different hash for it`, n - 1, index - 1);
  }
  return { seq: value.seq };
}

/** The head's record against the log: no entries cut off the end, the last one unchanged. */
function checkHead(
  head: Head,
  lastSeq: number,
  hashes: readonly string[],
  lineCount: number,
): AuditFailure | null {
  if (head.seq > lastSeq) {
    return {
      line: lineCount + 1,
      problem: "truncated",
      message: `the log ends at entry ${lastSeq} but its head records ${head.seq} entries`,
      entries: lineCount,
    };
  }
  if (head.seq >= 1 && hashes[head.seq - 1] !== head.lineHash) {
    return {
      line: head.seq,
      problem: "edited",
      message: "the line does not match the hash its head records",
      entries: head.seq - 1,
    };
  }
  return null;
}
