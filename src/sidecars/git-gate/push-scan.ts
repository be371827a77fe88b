// The gate's second scan of a push, beside gitleaks (which reads added lines only): every
// ref name pushed, every new commit's and tag's message, names, emails and other headers,
// every path the new commits add or change, every new file's bytes for the bottle's own
// secrets, and what compressed files (gzip, zlib, PNG text and image chunks, tar) hold once
// unpacked, through the DLP engine. A finding names the commit, the place and the rule,
// never the value; a name shown in a finding is itself scanned first and withheld if it
// matches. Anything it cannot read within bounds is a refusal, never a pass.
import {
  createDlpScanner,
  type DlpFinding,
  type DlpScanner,
  KNOWN_SECRET_RULE_ID,
  type KnownSecret,
} from "../../shared/dlp/index.js";
import { type BlobLimits, DEFAULT_BLOB_LIMITS, unpackBlob } from "./blob-contents.js";
import {
  commitFields,
  type DiffEntry,
  isZeroId,
  parseTree,
  printable,
  type RefUpdate,
  tagFields,
} from "./git-objects.js";
import { emptyPiecesRecord, JoinedText, type PiecesRecord, PushPieces } from "./joins.js";

export interface NewObject {
  id: string;
  type: "commit" | "tag" | "tree" | "blob";
  size: number;
}

/** What the scan needs from the repository the push is arriving in. */
export interface PushRepository {
  /** Objects reachable from `tips` and from none of the repository's refs. */
  newObjects(tips: readonly string[]): Promise<NewObject[]>;
  read(id: string): Promise<Buffer>;
  /** Each commit's changes against each of its parents (or the empty tree for a root). */
  diffTree(commits: readonly string[]): Promise<DiffEntry[]>;
  peelToCommit(id: string): Promise<string>;
  /** 20 for SHA-1 repositories, 32 for SHA-256. */
  readonly idBytes: number;
}

export interface PushScanLimits {
  /** Largest file scanned; a larger one is refused. */
  maxBlobBytes: number;
  /** Unpacked bytes over the whole push. */
  maxPushUnpackedBytes: number;
  blob: BlobLimits;
}

export const DEFAULT_PUSH_SCAN_LIMITS: PushScanLimits = {
  maxBlobBytes: 100 * 1024 * 1024,
  maxPushUnpackedBytes: 512 * 1024 * 1024,
  blob: DEFAULT_BLOB_LIMITS,
};

export interface PushFinding {
  commit: string;
  place: string;
  rule: string;
}

export interface PushRefusal {
  commit: string;
  place: string;
  reason: string;
}

export interface PushScanReport {
  findings: PushFinding[];
  refusals: PushRefusal[];
  /**
   * The pieces record once this push is forwarded (see joins.ts): what to store when the
   * report is clean and the push went upstream.
   */
  piecesRecord: PiecesRecord;
}

export interface PushScanOptions {
  updates: readonly RefUpdate[];
  repository: PushRepository;
  knownSecrets: readonly KnownSecret[];
  limits?: PushScanLimits;
  /** What earlier forwarded pushes of this bottle carried (joins.ts); none when absent. */
  piecesRecord?: PiecesRecord;
}

const WITHHELD = "[withheld: it matches a rule]";
const GITLINK_MODE = "160000";

export async function scanPush(options: PushScanOptions): Promise<PushScanReport> {
  const limits = options.limits ?? DEFAULT_PUSH_SCAN_LIMITS;
  const repo = options.repository;
  // Full rules for what gitleaks never reads; the bottle's secrets only for plain file bytes,
  // where gitleaks applies the credential rules (and their fingerprint exceptions) already.
  const full = createDlpScanner({
    knownSecrets: options.knownSecrets,
    maxDecodedBytes: limits.maxBlobBytes,
  });
  const secretsOnly = createDlpScanner({
    knownSecrets: options.knownSecrets,
    rules: [],
    maxDecodedBytes: limits.maxBlobBytes,
  });
  const report = new ReportBuilder();
  const record = options.piecesRecord ?? emptyPiecesRecord();
  // Every value read below also feeds the joins: its pieces of known secrets, and the joined
  // text of all values without line breaks (joins.ts).
  const pieces = new PushPieces(options.knownSecrets);
  const joined = new JoinedText(secretsOnly.carryBytes);
  const joinedFindings: { commit: string; rule: string; secretName: string }[] = [];
  const scanJoined = (chunks: { bytes: Buffer; commit: string }[]) => {
    for (const chunk of chunks) {
      const verdict = secretsOnly.scan({
        body: { bytes: chunk.bytes, contentType: "text/plain", label: "text" },
      });
      if (verdict.status === "findings") {
        for (const f of verdict.findings) {
          joinedFindings.push({
            commit: chunk.commit,
            rule: ruleName(f),
            secretName: f.secretName ?? "?",
          });
        }
      } else if (verdict.status === "unscannable") {
        report.refusal(chunk.commit, "joined text", `cannot be scanned (${verdict.detail})`);
      }
    }
  };
  const scan = (scanner: DlpScanner, bytes: Uint8Array, commit: string, place: string) => {
    if (bytes.length === 0) return;
    pieces.add(bytes, commit, place);
    scanJoined(joined.add(bytes, commit));
    const verdict = scanner.scan({ body: { bytes, contentType: "text/plain", label: "text" } });
    if (verdict.status === "findings") {
      for (const f of verdict.findings) report.finding(commit, place, ruleName(f), f.secretName);
    } else if (verdict.status === "unscannable") {
      report.refusal(commit, place, `cannot be scanned (${verdict.detail})`);
    }
  };
  /** A name is also scanned with its slashes dropped: a value split across directories. */
  const scanName = (name: Buffer, commit: string, place: string) => {
    scan(full, name, commit, place);
    if (name.includes(0x2f)) scan(full, withoutSlashes(name), commit, place);
  };
  const shown = (name: Buffer): string => {
    const clean = (bytes: Buffer) =>
      full.scan({ body: { bytes, contentType: "text/plain" } }).status === "clean";
    // A name carrying a piece of a secret is withheld too: a report never shows a piece.
    return clean(name) && clean(withoutSlashes(name)) && !pieces.hasPiece(withoutSlashes(name))
      ? printable(name.toString("utf8"))
      : WITHHELD;
  };

  const pushed = options.updates.filter((u) => !isZeroId(u.newId));
  for (const u of pushed) {
    const commit = await repo.peelToCommit(u.newId);
    const kind = u.ref.startsWith("refs/tags/") ? "tag name" : "branch name";
    scanName(Buffer.from(u.ref, "latin1"), commit, kind);
  }
  const tips = [...new Set(pushed.map((u) => u.newId))];
  if (tips.length === 0) return report.done(record);
  const fallbackCommit = await repo.peelToCommit(tips[0] as string);

  const objects = await repo.newObjects(tips);
  const ofType = (type: NewObject["type"]) => objects.filter((o) => o.type === type);
  const commits = ofType("commit");
  for (const c of commits) {
    for (const field of commitFields(await repo.read(c.id)))
      scan(full, field.bytes, c.id, field.place);
  }
  for (const t of ofType("tag")) {
    const tag = tagFields(await repo.read(t.id));
    const commit = await repo.peelToCommit(t.id);
    const name = shown(tag.name);
    for (const field of tag.fields) scan(full, field.bytes, commit, `tag ${name} ${field.place}`);
  }

  const blobs = new Map(ofType("blob").map((b) => [b.id, b.size] as const));
  let unpacked = 0;
  const scanBlob = async (id: string, size: number, commit: string, path: Buffer) => {
    const place = `file ${shown(path)}`;
    if (size > limits.maxBlobBytes) {
      report.refusal(
        commit,
        place,
        `is ${size} bytes, larger than the ${limits.maxBlobBytes} the gate scans`,
      );
      return;
    }
    const bytes = await repo.read(id);
    scan(secretsOnly, bytes, commit, place);
    const result = unpackBlob(bytes, limits.blob);
    if (!result.ok) {
      report.refusal(commit, `${place} (${result.label})`, result.detail);
      return;
    }
    for (const part of result.parts) {
      unpacked += part.bytes.length;
      if (unpacked > limits.maxPushUnpackedBytes) {
        report.refusal(
          commit,
          `${place} (${part.label})`,
          `takes the push past the ${limits.maxPushUnpackedBytes} unpacked bytes the gate scans`,
        );
        return;
      }
      scan(full, part.bytes, commit, `${place} (${part.label})`);
    }
  };

  const seenPaths = new Set<string>();
  const seenNames = new Set<string>();
  const scanned = new Set<string>();
  // Oldest first, so a path or file is reported at the commit that brought it.
  const oldestFirst = commits.map((c) => c.id).reverse();
  for (const entry of await repo.diffTree(oldestFirst)) {
    if (entry.status === "D") continue;
    const key = entry.path.toString("latin1");
    if (!seenPaths.has(key)) {
      seenPaths.add(key);
      for (const part of key.split("/")) seenNames.add(part);
      scanName(entry.path, entry.commit, `path ${shown(entry.path)}`);
    }
    if (entry.mode === GITLINK_MODE) {
      // A submodule's commit id is whatever the pusher says: 40 hex digits of free text.
      scan(full, Buffer.from(entry.blob), entry.commit, `submodule ${shown(entry.path)} commit id`);
      continue;
    }
    const size = blobs.get(entry.blob);
    if (size === undefined || scanned.has(entry.blob)) continue;
    scanned.add(entry.blob);
    await scanBlob(entry.blob, size, entry.commit, entry.path);
  }
  // Names no change lists (a directory holding only an empty tree), and new files no
  // commit's diff showed: both should be none, but the scan must not rest on that.
  for (const tree of ofType("tree")) {
    for (const entry of parseTree(await repo.read(tree.id), repo.idBytes)) {
      const key = entry.name.toString("latin1");
      if (seenNames.has(key)) continue;
      seenNames.add(key);
      scanName(entry.name, fallbackCommit, `path name ${shown(entry.name)} in a new tree`);
    }
  }
  for (const [id, size] of blobs) {
    if (!scanned.has(id)) await scanBlob(id, size, fallbackCommit, Buffer.from(`(object ${id})`));
  }

  scanJoined(joined.flush());
  // Joins report only what no single value held whole: that is reported already, above.
  const wholeAlready = new Set(report.knownSecretNames());
  for (const f of joinedFindings) {
    if (wholeAlready.has(f.secretName)) continue;
    report.finding(f.commit, "joined text (lines, files, messages and paths, in order)", f.rule);
  }
  for (const f of pieces.findings(record, new Set(report.knownSecretNames()))) {
    report.finding(
      f.commit,
      f.place,
      `${KNOWN_SECRET_RULE_ID} ${printable(f.secretName)} in pieces`,
    );
  }
  return report.done(pieces.merged(record));
}

function ruleName(f: DlpFinding): string {
  if (f.ruleId !== KNOWN_SECRET_RULE_ID) return printable(f.ruleId);
  const form = f.encoding === undefined || f.encoding === "verbatim" ? "" : ` as ${f.encoding}`;
  return `${KNOWN_SECRET_RULE_ID} ${printable(f.secretName ?? "?")}${form}`;
}

function withoutSlashes(name: Buffer): Buffer {
  return Buffer.from(name.filter((b) => b !== 0x2f));
}

class ReportBuilder {
  readonly #findings: PushFinding[] = [];
  readonly #refusals: PushRefusal[] = [];
  readonly #seen = new Set<string>();

  finding(commit: string, place: string, rule: string, secretName?: string): void {
    if (secretName !== undefined && !this.#names.includes(secretName)) this.#names.push(secretName);
    const key = `${commit}\0${place}\0${rule}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#findings.push({ commit, place, rule });
  }

  refusal(commit: string, place: string, reason: string): void {
    this.#refusals.push({ commit, place, reason });
  }

  /** Names of the known secrets found so far. */
  knownSecretNames(): string[] {
    return this.#names;
  }

  readonly #names: string[] = [];

  done(piecesRecord: PiecesRecord): PushScanReport {
    return { findings: this.#findings, refusals: this.#refusals, piecesRecord };
  }
}

/** One line per finding or refusal, as the hook prints them after "push rejected: ". */
export function renderPushScanReport(report: PushScanReport, max = 50): string[] {
  const lines = [
    ...report.findings.map((f) => `commit ${f.commit} ${f.place} (${f.rule})`),
    ...report.refusals.map((r) => `commit ${r.commit} ${r.place} ${r.reason}`),
  ];
  if (lines.length <= max) return lines;
  return [...lines.slice(0, max), `and ${lines.length - max} more`];
}
