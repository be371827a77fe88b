// Reads a tar stream (ustar, pax and GNU long names, as GNU tar and npm write them) entry by
// entry and hands each to a visitor, which decides what to do with it. It writes nothing and
// trusts nothing: a bad header checksum, a malformed number or pax record, an oversized
// metadata entry or a truncated archive is an error, never a skipped check. What an entry's
// name means on disk is the visitor's business.

const BLOCK = 512;
/** A pax header or GNU long name larger than this is refused: names are not megabytes. */
const MAX_META_BYTES = 64 * 1024;

/** One entry as the archive describes it; pax and GNU long names already applied. */
export interface TarEntryHeader {
  name: string;
  /** The typeflag: "0" or "\0" file, "5" directory, "1" hard link, "2" symlink, "3"/"4" device, "6" FIFO, … */
  type: string;
  size: number;
  mode: number;
}

/** Where an entry's data goes. */
export interface TarSink {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface TarVisitor {
  /** Called for each entry; a sink for its data, or null to pass its data over. */
  entry(header: TarEntryHeader): Promise<TarSink | null>;
}

export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TarFormatError";
  }
}

/** Parses one 512-byte header; null for an all-zero block (the end marker). */
export function parseTarHeader(block: Buffer): TarEntryHeader | null {
  if (block.every((b) => b === 0)) return null;
  const stored = octal(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  if (stored !== sum)
    throw new TarFormatError("a header's checksum does not match (corrupt archive)");
  const text = (from: number, to: number) => {
    const field = block.subarray(from, to);
    const end = field.indexOf(0);
    return field.subarray(0, end < 0 ? field.length : end).toString("utf8");
  };
  const magic = text(257, 263);
  const prefix = magic.startsWith("ustar") ? text(345, 500) : "";
  const name = text(0, 100);
  return {
    name: prefix === "" ? name : `${prefix}/${name}`,
    type: String.fromCharCode(block[156] ?? 0),
    size: size(block.subarray(124, 136)),
    mode: octal(block.subarray(100, 108)),
  };
}

function octal(field: Buffer): number {
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError("a header holds a malformed number");
  return Number.parseInt(text, 8);
}

/** Octal, or GNU base-256 (high bit set) for sizes past 8 GiB. */
function size(field: Buffer): number {
  if (((field[0] ?? 0) & 0x80) === 0) return octal(field);
  let n = (field[0] ?? 0) & 0x7f;
  for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
  if (!Number.isSafeInteger(n)) throw new TarFormatError("an entry's size is too large");
  return n;
}

/** The records of a pax extended header ("<len> key=value\n" each). */
export function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) throw new TarFormatError("a pax header is malformed");
    const length = Number.parseInt(data.subarray(at, space).toString("latin1"), 10);
    if (!Number.isInteger(length) || length <= space - at || at + length > data.length) {
      throw new TarFormatError("a pax header is malformed");
    }
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** What the next real entry takes from the metadata entries before it. */
interface Overrides {
  name?: string;
  size?: number;
}

/**
 * Reads `source` to the archive's end marker, handing each entry to `visitor`. Throws a
 * TarFormatError for a malformed or truncated archive; whatever the visitor throws passes
 * through, after the open sink is closed.
 */
export async function readTar(source: AsyncIterable<Buffer>, visitor: TarVisitor): Promise<void> {
  const reading = new TarReading(visitor);
  try {
    for await (const chunk of source) await reading.feed(chunk);
  } finally {
    await reading.closeOpenSink();
  }
  if (!reading.ended) throw new TarFormatError("the archive is truncated");
}

/** The entry whose data is being read: to a sink, into metadata, or passed over. */
interface OpenEntry {
  header: TarEntryHeader;
  sink: TarSink | null;
  meta: Buffer[] | null;
}

class TarReading {
  /** Read and not yet taken. */
  #pending: Buffer = Buffer.alloc(0);
  #current: OpenEntry | null = null;
  /** The current entry's data bytes still to come, then its padding to the block. */
  #remaining = 0;
  #padding = 0;
  /** What pax and GNU long-name entries say of the next entry. */
  #overrides: Overrides = {};
  /** The end marker was read. */
  ended = false;

  constructor(private readonly visitor: TarVisitor) {}

  async feed(chunk: Buffer): Promise<void> {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (!this.ended) {
      const open = this.#current;
      if (open !== null && this.#remaining > 0) {
        if (this.#pending.length === 0) break;
        const take = Math.min(this.#remaining, this.#pending.length);
        const part = this.#pending.subarray(0, take);
        if (open.sink !== null) await open.sink.write(part);
        else if (open.meta !== null) open.meta.push(Buffer.from(part));
        this.#remaining -= take;
        this.#pending = this.#pending.subarray(take);
        continue;
      }
      if (open !== null) {
        if (this.#pending.length < this.#padding) break;
        this.#pending = this.#pending.subarray(this.#padding);
        await this.#finish();
        continue;
      }
      if (this.#pending.length < BLOCK) break;
      const header = parseTarHeader(this.#pending.subarray(0, BLOCK));
      this.#pending = this.#pending.subarray(BLOCK);
      if (header === null) {
        this.ended = true;
        break;
      }
      await this.#begin(header);
    }
    // Past the end marker comes only padding: read on, so the writer is never cut off.
    if (this.ended) this.#pending = Buffer.alloc(0);
  }

  async closeOpenSink(): Promise<void> {
    if (this.#current?.sink) await this.#current.sink.close().catch(() => {});
  }

  async #begin(raw: TarEntryHeader): Promise<void> {
    if (raw.type === "x" || raw.type === "L" || raw.type === "g") {
      if (raw.size > MAX_META_BYTES) {
        throw new TarFormatError(`a metadata entry of ${raw.size} bytes is larger than allowed`);
      }
      this.#current = { header: raw, sink: null, meta: raw.type === "g" ? null : [] };
    } else {
      const header = {
        ...raw,
        name: this.#overrides.name ?? raw.name,
        size: this.#overrides.size ?? raw.size,
      };
      this.#overrides = {};
      this.#current = { header, sink: await this.visitor.entry(header), meta: null };
    }
    this.#remaining = this.#current.header.size;
    this.#padding = (BLOCK - (this.#remaining % BLOCK)) % BLOCK;
  }

  async #finish(): Promise<void> {
    const done = this.#current;
    this.#current = null;
    if (done === null) return;
    if (done.sink !== null) await done.sink.close();
    if (done.meta === null) return;
    const data = Buffer.concat(done.meta);
    if (done.header.type === "L") {
      this.#overrides.name = data.toString("utf8").replace(/\0+$/, "");
      return;
    }
    const records = paxRecords(data);
    const path = records.get("path");
    if (path !== undefined) this.#overrides.name = path;
    const paxSize = records.get("size");
    if (paxSize !== undefined) {
      if (!/^\d+$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) {
        throw new TarFormatError("a pax header holds a malformed size");
      }
      this.#overrides.size = Number(paxSize);
    }
  }
}
