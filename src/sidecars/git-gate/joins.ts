// Joins: a bottle's own secret cut over the lines, files, commits and pushes of a bottle.
// The push scan reads every value one at a time (a file, a message, a path); a secret whose
// halves sit on two lines, in two files, in two commits or in two pushes is whole in none of
// them. Two checks close that:
//
// 1. Pieces. Every value the push scan reads is also searched for pieces of each known
//    secret: runs of at least pieceLength(n) characters of the secret, of it reversed, or of
//    its hex (twice as many digits), in any case, anywhere in the value (inside quotes, after
//    "=", mid-line: no tokenising can hide one). Only the positions of the secret each piece
//    covers are kept. When the pieces of one push cover every character of a secret, the
//    push is refused; when they do so together with the pieces earlier forwarded pushes
//    carried (the PiecesRecord, kept in the gate's own state directory), the push carrying
//    the last piece is refused, naming the commit the earlier piece came in.
// 2. The joined text. Every value, with its line breaks removed, is scanned again as one
//    text in the order the push scan reads them (ref names, commit fields newest commit
//    first, tag fields, then each path followed by its file's bytes and unpacked parts,
//    oldest commit first), in chunks that overlap by the scanner's carry: a secret cut at a
//    line end or between one file's end and the next file's start, in any spelling the engine
//    knows (base64, hex, ...), is whole there.
//
// False positives. A piece is a run of at least 8 characters (6 or 7 for secrets shorter than
// 16) of one of three forms of a secret. For a random secret over 62 characters, the chance
// that a given 8 characters of ordinary text equal one of its ~3n grams is about
// 3n / 62^8 ≈ 5e-13 for n = 40: a push of 100 MB meets one by chance about once in 20,000, and
// a refusal needs every character of the secret covered, not one gram. Common prefixes of a
// token format ("sk-ant-api03-") cover only their own positions, never the random rest.
// Shorter pieces are not looked for: a secret cut into runs of 7 or fewer characters is not
// seen by this check (the limit is stated in the docs).
//
// The record holds, per secret name: its length and, per covered range of positions, the
// commit that first carried it. Never a character of the secret. It lives as long as the
// gate's container (the bottle), in the gate user's 0700 home, which the agent's container
// does not mount.
import { LiteralAutomaton } from "../../shared/dlp/literal-automaton.js";

export interface KnownSecretLike {
  name: string;
  value: string;
}

/** What earlier forwarded pushes carried: per secret, covered position ranges and by whom. */
export interface PiecesRecord {
  version: 1;
  secrets: Record<
    string,
    { length: number; ranges: [start: number, end: number, commit: string][] }
  >;
}

export function emptyPiecesRecord(): PiecesRecord {
  return { version: 1, secrets: {} };
}

/** Secrets longer than this are still tracked; the bound keeps the record small. */
const MAX_TRACKED_LENGTH = 4096;
const MAX_PLACES_SHOWN = 3;

/** The shortest run of a secret of `n` characters that counts as a piece. */
export function pieceLength(n: number): number {
  return Math.max(6, Math.min(8, Math.floor(n / 2)));
}

interface GramAt {
  secret: number;
  /** Positions in the secret the gram covers: start and count (hex: per two digits). */
  position: (offset: number) => number;
  offset: number;
  gram: number;
}

interface Origin {
  commit: string;
  place: string;
  /** Order in which the push scan read it. */
  seq: number;
}

export interface JoinFinding {
  secretName: string;
  commit: string;
  place: string;
}

export class PushPieces {
  readonly #secrets: { name: string; length: number }[] = [];
  readonly #automaton: LiteralAutomaton | undefined;
  readonly #literals: GramAt[][] = [];
  /** Per secret, per position: the first value of this push that covered it. */
  readonly #owners: (Origin | undefined)[][] = [];
  #seq = 0;

  constructor(secrets: readonly KnownSecretLike[]) {
    const byGram = new Map<string, GramAt[]>();
    for (const s of secrets) {
      const text = Buffer.from(s.value, "utf8").toString("latin1");
      const n = text.length;
      if (n < 8 || n > MAX_TRACKED_LENGTH) continue;
      const index = this.#secrets.length;
      this.#secrets.push({ name: s.name, length: n });
      this.#owners.push(new Array(n).fill(undefined));
      const piece = pieceLength(n);
      const forms = [
        { text, gram: piece, position: (i: number) => i },
        { text: [...text].reverse().join(""), gram: piece, position: (i: number) => n - 1 - i },
        {
          text: Buffer.from(text, "latin1").toString("hex"),
          gram: 2 * piece,
          position: (i: number) => i >> 1,
        },
      ];
      for (const form of forms) {
        for (let offset = 0; offset + form.gram <= form.text.length; offset++) {
          const gram = form.text.slice(offset, offset + form.gram).toLowerCase();
          const at: GramAt = { secret: index, position: form.position, offset, gram: form.gram };
          const list = byGram.get(gram);
          if (list === undefined) byGram.set(gram, [at]);
          else list.push(at);
        }
      }
    }
    const grams = [...byGram.keys()];
    this.#literals = grams.map((g) => byGram.get(g) as GramAt[]);
    this.#automaton =
      grams.length === 0 ? undefined : new LiteralAutomaton(grams, { foldCase: true });
  }

  /** Whether `bytes` carries any piece of a known secret (nothing is recorded). */
  hasPiece(bytes: Uint8Array): boolean {
    if (this.#automaton === undefined) return false;
    let found = false;
    this.#automaton.scan(bytes, () => {
      found = true;
    });
    return found;
  }

  /** Records the pieces `bytes` (one value the push scan read) carries. */
  add(bytes: Uint8Array, commit: string, place: string): void {
    if (this.#automaton === undefined || bytes.length === 0) return;
    const origin: Origin = { commit, place, seq: this.#seq++ };
    this.#automaton.scan(bytes, (index) => {
      for (const at of this.#literals[index] as GramAt[]) {
        const owners = this.#owners[at.secret] as (Origin | undefined)[];
        for (let i = 0; i < at.gram; i++) {
          const p = at.position(at.offset + i);
          if (owners[p] === undefined) owners[p] = origin;
        }
      }
    });
  }

  /**
   * Secrets this push's pieces make whole, alone or with the record's. `skip`: secret names
   * already reported whole in this push (their pieces add nothing to the report).
   */
  findings(record: PiecesRecord, skip: ReadonlySet<string>): JoinFinding[] {
    const out: JoinFinding[] = [];
    this.#secrets.forEach((secret, index) => {
      if (skip.has(secret.name)) return;
      const owners = this.#owners[index] as (Origin | undefined)[];
      const mine = owners.filter((o): o is Origin => o !== undefined);
      if (mine.length === 0) return;
      const earlier = earlierCommits(record, secret.name, secret.length);
      let whole = true;
      let joinedEarlier = false;
      for (let p = 0; p < secret.length; p++) {
        if (owners[p] !== undefined) continue;
        if (earlier[p] === undefined) {
          whole = false;
          break;
        }
        joinedEarlier = true;
      }
      if (!whole) return;
      const origins = [...new Map(mine.map((o) => [o.seq, o])).values()].sort(
        (a, b) => a.seq - b.seq,
      );
      const last = origins[origins.length - 1] as Origin;
      const places = [...new Set(origins.map((o) => o.place))];
      const shown =
        places.length <= MAX_PLACES_SHOWN
          ? places.join(", ")
          : `${places.slice(0, MAX_PLACES_SHOWN).join(", ")} and ${places.length - MAX_PLACES_SHOWN} more`;
      let place = `pieces in ${shown}`;
      if (joinedEarlier) {
        const commits = [...new Set(earlier.filter((c): c is string => c !== undefined))];
        place += `, joined with what an earlier push brought in commit ${commits.slice(0, MAX_PLACES_SHOWN).join(", commit ")}`;
      }
      out.push({ secretName: secret.name, commit: last.commit, place });
    });
    return out;
  }

  /** The record once this push is forwarded: the earlier ranges, plus this push's. */
  merged(record: PiecesRecord): PiecesRecord {
    const next: PiecesRecord = { version: 1, secrets: {} };
    this.#secrets.forEach((secret, index) => {
      const owners = this.#owners[index] as (Origin | undefined)[];
      const commits = earlierCommits(record, secret.name, secret.length);
      for (let p = 0; p < secret.length; p++) commits[p] ??= owners[p]?.commit;
      const ranges: [number, number, string][] = [];
      for (let p = 0; p < secret.length; p++) {
        const commit = commits[p];
        if (commit === undefined) continue;
        const last = ranges[ranges.length - 1];
        if (last !== undefined && last[1] === p && last[2] === commit) last[1] = p + 1;
        else ranges.push([p, p + 1, commit]);
      }
      if (ranges.length > 0) next.secrets[secret.name] = { length: secret.length, ranges };
    });
    return next;
  }
}

/** Per position of a secret, the commit an earlier push covered it in (if any). */
function earlierCommits(
  record: PiecesRecord,
  name: string,
  length: number,
): (string | undefined)[] {
  const commits: (string | undefined)[] = new Array(length).fill(undefined);
  const entry = Object.hasOwn(record.secrets, name) ? record.secrets[name] : undefined;
  // A secret of another length under the same name is another secret: its record is void.
  if (entry === undefined || entry.length !== length) return commits;
  for (const [start, end, commit] of entry.ranges) {
    for (let p = Math.max(0, start); p < Math.min(length, end); p++) commits[p] ??= commit;
  }
  return commits;
}

/** Parses a stored record; anything malformed is an error (the push is then refused). */
export function parsePiecesRecord(text: string, path: string): PiecesRecord {
  const fail = (why: string): never => {
    throw new Error(
      `the pieces record ${path} is malformed (${why}); remove it to start a new record`,
    );
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail("not JSON");
  }
  if (typeof value !== "object" || value === null) return fail("not an object");
  const v = value as { version?: unknown; secrets?: unknown };
  if (v.version !== 1) return fail("version is not 1");
  if (typeof v.secrets !== "object" || v.secrets === null) return fail("no secrets object");
  const record = emptyPiecesRecord();
  for (const [name, entry] of Object.entries(v.secrets as Record<string, unknown>)) {
    const e = entry as { length?: unknown; ranges?: unknown };
    if (typeof e?.length !== "number" || !Array.isArray(e.ranges)) return fail("bad entry");
    const ranges: [number, number, string][] = [];
    for (const r of e.ranges) {
      if (
        !Array.isArray(r) ||
        r.length !== 3 ||
        !Number.isInteger(r[0]) ||
        !Number.isInteger(r[1]) ||
        typeof r[2] !== "string" ||
        !/^[0-9a-f]{40,64}$/.test(r[2])
      ) {
        return fail("bad range");
      }
      ranges.push([r[0], r[1], r[2]]);
    }
    record.secrets[name] = { length: e.length, ranges };
  }
  return record;
}

/**
 * The values the push scan reads, each with its line breaks removed, joined in reading order
 * into chunks of about `chunkBytes`, each overlapping the previous by `carry` bytes.
 */
export class JoinedText {
  readonly #chunkBytes: number;
  readonly #carry: number;
  #parts: Buffer[] = [];
  #length = 0;
  /** Bytes at the start of the pending text already scanned in the previous chunk. */
  #carried = 0;
  #commit = "";

  constructor(carry: number, chunkBytes = 4 * 1024 * 1024) {
    this.#carry = carry;
    this.#chunkBytes = Math.max(chunkBytes, 2 * carry);
  }

  /** Adds a value; returns the chunks now ready to scan, each with its last value's commit. */
  add(bytes: Uint8Array, commit: string): { bytes: Buffer; commit: string }[] {
    if (bytes.length === 0) return [];
    const flat = withoutLineBreaks(bytes);
    this.#parts.push(flat);
    this.#length += flat.length;
    this.#commit = commit;
    const out: { bytes: Buffer; commit: string }[] = [];
    // No chunk longer than chunkBytes, however long one value is: the scanner's size bound
    // holds for the joined text as for the values.
    while (this.#length >= this.#chunkBytes) {
      const text = this.#text();
      out.push({ bytes: text.subarray(0, this.#chunkBytes), commit });
      this.#parts = [text.subarray(this.#chunkBytes - this.#carry)];
      this.#length = text.length - (this.#chunkBytes - this.#carry);
      this.#carried = this.#carry;
    }
    return out;
  }

  /** What is left, if it holds anything not scanned yet. */
  flush(): { bytes: Buffer; commit: string }[] {
    if (this.#length <= this.#carried) return [];
    const text = this.#text();
    this.#parts = [];
    this.#length = 0;
    this.#carried = 0;
    return [{ bytes: text, commit: this.#commit }];
  }

  #text(): Buffer {
    const text =
      this.#parts.length === 1
        ? (this.#parts[0] as Buffer)
        : Buffer.concat(this.#parts, this.#length);
    this.#parts = [text];
    return text;
  }
}

function withoutLineBreaks(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b !== 0x0a && b !== 0x0d) out[n++] = b;
  }
  return out.subarray(0, n);
}
