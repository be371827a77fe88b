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
  const scan = new PushScan(options);
  const repo = options.repository;
  const pushed = options.updates.filter((u) => !isZeroId(u.newId));
  for (const u of pushed) {
    const commit = await repo.peelToCommit(u.newId);
    const kind = u.ref.startsWith("refs/tags/") ? "tag name" : "branch name";
    scan.name(Buffer.from(u.ref, "latin1"), commit, kind);
  }
  const tips = [...new Set(pushed.map((u) => u.newId))];
  // Only deletions: nothing new was read, and the pieces record stays as it was.
  if (tips.length === 0) return scan.doneWithNothingNew();
  const objects = await repo.newObjects(tips);
  await scan.messages(objects);
  await scan.changes(objects, await repo.peelToCommit(tips[0] as string));
  return scan.done();
}

/** One push's scan: the scanners, what it found so far, and what the joins have read. */
class PushScan {
  readonly #repo: PushRepository;
  readonly #limits: PushScanLimits;
  /** Full rules, for what gitleaks never reads. */
  readonly #full: DlpScanner;
  /**
   * The bottle's secrets only, for plain file bytes, where gitleaks applies the credential
   * rules (and their fingerprint exceptions) already.
   */
  readonly #secretsOnly: DlpScanner;
  readonly #report = new ReportBuilder();
  readonly #record: PiecesRecord;
  // Every value read also feeds the joins: its pieces of known secrets, and the joined text
  // of all values without line breaks (joins.ts).
  readonly #pieces: PushPieces;
  readonly #joined: JoinedText;
  readonly #joinedFindings: { commit: string; rule: string; secretName: string }[] = [];
  #unpacked = 0;

  constructor(options: PushScanOptions) {
    this.#repo = options.repository;
    this.#limits = options.limits ?? DEFAULT_PUSH_SCAN_LIMITS;
    const maxDecodedBytes = this.#limits.maxBlobBytes;
    this.#full = createDlpScanner({ knownSecrets: options.knownSecrets, maxDecodedBytes });
    this.#secretsOnly = createDlpScanner({
      knownSecrets: options.knownSecrets,
      rules: [],
      maxDecodedBytes,
    });
    this.#record = options.piecesRecord ?? emptyPiecesRecord();
    this.#pieces = new PushPieces(options.knownSecrets);
    this.#joined = new JoinedText(this.#secretsOnly.carryBytes);
  }

  /** A name, also with its slashes dropped: a value split across directories. */
  name(name: Buffer, commit: string, place: string): void {
    this.#scan(this.#full, name, commit, place);
    if (name.includes(0x2f)) this.#scan(this.#full, withoutSlashes(name), commit, place);
  }

  /** Every new commit's and tag's message, names, emails and other headers. */
  async messages(objects: readonly NewObject[]): Promise<void> {
    for (const c of objects.filter((o) => o.type === "commit")) {
      for (const field of commitFields(await this.#repo.read(c.id)))
        this.#scan(this.#full, field.bytes, c.id, field.place);
    }
    for (const t of objects.filter((o) => o.type === "tag")) {
      const tag = tagFields(await this.#repo.read(t.id));
      const commit = await this.#repo.peelToCommit(t.id);
      const name = this.#shown(tag.name);
      for (const field of tag.fields) {
        this.#scan(this.#full, field.bytes, commit, `tag ${name} ${field.place}`);
      }
    }
  }

  /**
   * Every path the new commits add or change and every new file, at the commit that brought
   * it (oldest first); then names and files no commit's diff showed, at `fallbackCommit`:
   * both should be none, but the scan must not rest on that.
   */
  async changes(objects: readonly NewObject[], fallbackCommit: string): Promise<void> {
    const blobs = new Map(
      objects.filter((o) => o.type === "blob").map((b) => [b.id, b.size] as const),
    );
    const seenPaths = new Set<string>();
    const seenNames = new Set<string>();
    const scanned = new Set<string>();
    const oldestFirst = objects
      .filter((o) => o.type === "commit")
      .map((c) => c.id)
      .reverse();
    for (const entry of await this.#repo.diffTree(oldestFirst)) {
      if (entry.status === "D") continue;
      const key = entry.path.toString("latin1");
      if (!seenPaths.has(key)) {
        seenPaths.add(key);
        for (const part of key.split("/")) seenNames.add(part);
        this.name(entry.path, entry.commit, `path ${this.#shown(entry.path)}`);
      }
      if (entry.mode === GITLINK_MODE) {
        // A submodule's commit id is whatever the pusher says: 40 hex digits of free text.
        const place = `submodule ${this.#shown(entry.path)} commit id`;
        this.#scan(this.#full, Buffer.from(entry.blob), entry.commit, place);
        continue;
      }
      const size = blobs.get(entry.blob);
      if (size === undefined || scanned.has(entry.blob)) continue;
      scanned.add(entry.blob);
      await this.#blob(entry.blob, size, entry.commit, entry.path);
    }
    // A directory holding only an empty tree is a name no change lists.
    for (const tree of objects.filter((o) => o.type === "tree")) {
      for (const entry of parseTree(await this.#repo.read(tree.id), this.#repo.idBytes)) {
        const key = entry.name.toString("latin1");
        if (seenNames.has(key)) continue;
        seenNames.add(key);
        const place = `path name ${this.#shown(entry.name)} in a new tree`;
        this.name(entry.name, fallbackCommit, place);
      }
    }
    for (const [id, size] of blobs) {
      if (!scanned.has(id)) {
        await this.#blob(id, size, fallbackCommit, Buffer.from(`(object ${id})`));
      }
    }
  }

  doneWithNothingNew(): PushScanReport {
    return this.#report.done(this.#record);
  }

  /** The joins' findings, then the report and the pieces record to store once forwarded. */
  done(): PushScanReport {
    const report = this.#report;
    this.#scanJoined(this.#joined.flush());
    // Joins report only what no single value held whole: that is reported already.
    const wholeAlready = new Set(report.knownSecretNames());
    for (const f of this.#joinedFindings) {
      if (wholeAlready.has(f.secretName)) continue;
      report.finding(f.commit, "joined text (lines, files, messages and paths, in order)", f.rule);
    }
    for (const f of this.#pieces.findings(this.#record, new Set(report.knownSecretNames()))) {
      const rule = `${KNOWN_SECRET_RULE_ID} ${printable(f.secretName)} in pieces`;
      report.finding(f.commit, f.place, rule);
    }
    return report.done(this.#pieces.merged(this.#record));
  }

  /** A file's bytes for the bottle's secrets, then what it holds once unpacked, in bounds. */
  async #blob(id: string, size: number, commit: string, path: Buffer): Promise<void> {
    const limits = this.#limits;
    const place = `file ${this.#shown(path)}`;
    if (size > limits.maxBlobBytes) {
      const reason = `is ${size} bytes, larger than the ${limits.maxBlobBytes} the gate scans`;
      this.#report.refusal(commit, place, reason);
      return;
    }
    const bytes = await this.#repo.read(id);
    this.#scan(this.#secretsOnly, bytes, commit, place);
    const result = unpackBlob(bytes, limits.blob);
    if (!result.ok) {
      this.#report.refusal(commit, `${place} (${result.label})`, result.detail);
      return;
    }
    for (const part of result.parts) {
      this.#unpacked += part.bytes.length;
      if (this.#unpacked > limits.maxPushUnpackedBytes) {
        this.#report.refusal(
          commit,
          `${place} (${part.label})`,
          `takes the push past the ${limits.maxPushUnpackedBytes} unpacked bytes the gate scans`,
        );
        return;
      }
      this.#scan(this.#full, part.bytes, commit, `${place} (${part.label})`);
    }
  }

  #scan(scanner: DlpScanner, bytes: Uint8Array, commit: string, place: string): void {
    if (bytes.length === 0) return;
    this.#pieces.add(bytes, commit, place);
    this.#scanJoined(this.#joined.add(bytes, commit));
    const verdict = scanner.scan({ body: { bytes, contentType: "text/plain", label: "text" } });
    if (verdict.status === "findings") {
      for (const f of verdict.findings) {
        this.#report.finding(commit, place, ruleName(f), f.secretName);
      }
    } else if (verdict.status === "unscannable") {
      this.#report.refusal(commit, place, `cannot be scanned (${verdict.detail})`);
    }
  }

  #scanJoined(chunks: { bytes: Buffer; commit: string }[]): void {
    for (const chunk of chunks) {
      const verdict = this.#secretsOnly.scan({
        body: { bytes: chunk.bytes, contentType: "text/plain", label: "text" },
      });
      if (verdict.status === "findings") {
        for (const f of verdict.findings) {
          const secretName = f.secretName ?? "?";
          this.#joinedFindings.push({ commit: chunk.commit, rule: ruleName(f), secretName });
        }
      } else if (verdict.status === "unscannable") {
        const reason = `cannot be scanned (${verdict.detail})`;
        this.#report.refusal(chunk.commit, "joined text", reason);
      }
    }
  }

  /**
   * A name as a report may show it: withheld when it matches a rule or carries a piece of a
   * secret (a report never shows a piece).
   */
  #shown(name: Buffer): string {
    const clean = (bytes: Buffer) =>
      this.#full.scan({ body: { bytes, contentType: "text/plain" } }).status === "clean";
    return clean(name) &&
      clean(withoutSlashes(name)) &&
      !this.#pieces.hasPiece(withoutSlashes(name))
      ? printable(name.toString("utf8"))
      : WITHHELD;
  }
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
