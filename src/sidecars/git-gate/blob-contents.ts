// What a pushed file holds once unpacked: gzip and zlib streams inflated, PNG text chunks
// (tEXt, zTXt, iTXt, iCCP) and image data read out, zip and tar members split, recursively, so
// the scan sees text a reader would get from the file and not only its compressed bytes.
// Bounded in depth, parts and inflated size (at most `maxRatio` times the file's size), and
// closed: a file that claims a format and does not unpack within bounds is an error, never
// passed over, since a lenient reader elsewhere might still get a secret out of it.
import { gunzipSync, inflateRawSync, inflateSync } from "node:zlib";

export interface BlobLimits {
  /** Inflated bytes per file, all layers together. */
  maxExpandedBytes: number;
  /** Inflated bytes per byte of the file, all layers together (a floor of 1 MiB applies). */
  maxRatio: number;
  /** Layers of packing, e.g. a PNG in a tar in a gzip is three. */
  maxDepth: number;
  /** Parts (chunks, members, streams) per file. */
  maxParts: number;
}

export const DEFAULT_BLOB_LIMITS: BlobLimits = {
  maxExpandedBytes: 64 * 1024 * 1024,
  maxRatio: 1000,
  maxDepth: 4,
  maxParts: 4096,
};

export interface BlobPart {
  /** Where in the file, e.g. "gzip content", "PNG zTXt chunk in tar member #2 in gzip content". */
  label: string;
  bytes: Uint8Array;
}

export type UnpackedBlob =
  | { ok: true; parts: BlobPart[] }
  | { ok: false; label: string; detail: string };

class UnpackError extends Error {
  constructor(
    readonly label: string,
    readonly detail: string,
  ) {
    super(`${label}: ${detail}`);
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const FLOOR_BUDGET = 1024 * 1024;
const TAR_BLOCK = 512;
const ZIP_LOCAL = 0x04034b50;
const ZIP_CENTRAL = 0x02014b50;
const ZIP_END = 0x06054b50;

/** Every packed part of `bytes`, innermost last; none for a file in no known packing. */
export function unpackBlob(
  bytes: Uint8Array,
  limits: BlobLimits = DEFAULT_BLOB_LIMITS,
): UnpackedBlob {
  const budget = Math.min(
    limits.maxExpandedBytes,
    Math.max(FLOOR_BUDGET, bytes.length * limits.maxRatio),
  );
  const state = { parts: [] as BlobPart[], inflated: 0, budget, limits };
  try {
    unpack(state, bytes, "", 0);
    return { ok: true, parts: state.parts };
  } catch (error) {
    if (error instanceof UnpackError)
      return { ok: false, label: error.label, detail: error.detail };
    throw error;
  }
}

interface UnpackState {
  parts: BlobPart[];
  inflated: number;
  budget: number;
  limits: BlobLimits;
}

function within(label: string, outer: string): string {
  return outer === "" ? label : `${label} in ${outer}`;
}

/**
 * Packings the gate recognises but cannot open. A file in one is refused: passing it would
 * let `xz <secret >notes.xz` carry anything out.
 */
const UNREADABLE: readonly [name: string, magicHex: RegExp][] = [
  ["xz", /^fd377a585a00/],
  ["bzip2", /^425a683[1-9]314159265359/],
  ["zstd", /^28b52ffd/],
  ["7z", /^377abcaf271c/],
  ["lzip", /^4c5a4950/],
  ["RAR", /^526172211a07/],
];

function unpack(state: UnpackState, bytes: Uint8Array, outer: string, depth: number): void {
  const head = Buffer.from(bytes.subarray(0, 16)).toString("hex");
  const unreadable = UNREADABLE.find(([, magic]) => magic.test(head))?.[0];
  if (unreadable !== undefined) {
    throw new UnpackError(
      within(`${unreadable} content`, outer),
      `is ${unreadable} data, which the gate cannot unpack to scan; push it as gzip or unpacked`,
    );
  }
  const format = packingOf(bytes);
  if (format === undefined) return;
  if (depth >= state.limits.maxDepth) {
    throw new UnpackError(within(`${format} content`, outer), "is packed too many layers deep");
  }
  if (format === "gzip")
    addPart(state, within("gzip content", outer), inflate(state, bytes, "gzip", outer), depth);
  else if (format === "zlib")
    addPart(state, within("zlib content", outer), inflate(state, bytes, "zlib", outer), depth);
  else if (format === "PNG") unpackPng(state, bytes, outer, depth);
  else if (format === "zip") unpackZip(state, bytes, outer, depth);
  else unpackTar(state, bytes, outer, depth);
}

type Packing = "gzip" | "zlib" | "PNG" | "zip" | "tar";

export function packingOf(bytes: Uint8Array): Packing | undefined {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return "gzip";
  if (isZlibHeader(bytes)) return "zlib";
  if (bytes.length >= 8 && PNG_SIGNATURE.equals(Buffer.from(bytes.subarray(0, 8)))) return "PNG";
  if (bytes.length >= 4 && Buffer.from(bytes.subarray(0, 4)).readUInt32LE(0) === ZIP_LOCAL) {
    return "zip";
  }
  if (
    bytes.length >= TAR_BLOCK &&
    Buffer.from(bytes.subarray(257, 262)).toString("latin1") === "ustar"
  ) {
    return "tar";
  }
  return undefined;
}

/** RFC 1950: deflate (CM 8), a window of at most 32 KiB, no preset dictionary, FCHECK holds. */
function isZlibHeader(bytes: Uint8Array): boolean {
  if (bytes.length < 2) return false;
  const cmf = bytes[0] as number;
  const flg = bytes[1] as number;
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && (flg & 0x20) === 0 && ((cmf << 8) | flg) % 31 === 0;
}

function addPart(state: UnpackState, label: string, bytes: Uint8Array, depth: number): void {
  if (state.parts.length >= state.limits.maxParts) {
    throw new UnpackError(label, `the file holds more than ${state.limits.maxParts} packed parts`);
  }
  state.parts.push({ label, bytes });
  unpack(state, bytes, label, depth + 1);
}

function inflate(
  state: UnpackState,
  bytes: Uint8Array,
  kind: "gzip" | "zlib" | "deflate",
  outer: string,
): Buffer {
  const label = within(`${kind} content`, outer);
  const left = state.budget - state.inflated;
  let out: Buffer;
  try {
    const options = { maxOutputLength: Math.max(1, left) };
    if (kind === "gzip") out = gunzipSync(bytes, options);
    else if (kind === "zlib") out = inflateSync(bytes, options);
    else out = inflateRawSync(bytes, options);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new UnpackError(
        label,
        `inflates past ${state.budget} bytes (the most the gate unpacks for this file)`,
      );
    }
    throw new UnpackError(
      label,
      `is not valid ${kind} data, so the gate cannot read what it holds`,
    );
  }
  state.inflated += out.length;
  if (state.inflated > state.budget) {
    throw new UnpackError(
      label,
      `inflates past ${state.budget} bytes (the most the gate unpacks for this file)`,
    );
  }
  return out;
}

function unpackPng(state: UnpackState, bytes: Uint8Array, outer: string, depth: number): void {
  const png = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const image: Buffer[] = [];
  let at = PNG_SIGNATURE.length;
  let ended = false;
  while (at < png.length && !ended) {
    if (at + 12 > png.length)
      throw new UnpackError(within("PNG", outer), "ends inside a chunk header");
    const length = png.readUInt32BE(at);
    const type = png.toString("latin1", at + 4, at + 8);
    const start = at + 8;
    const end = start + length;
    if (!/^[A-Za-z]{4}$/.test(type))
      throw new UnpackError(within("PNG", outer), "has a chunk with a malformed type");
    const label = within(`PNG ${type} chunk`, outer);
    if (end + 4 > png.length) throw new UnpackError(label, "runs past the end of the file");
    const data = png.subarray(start, end);
    if (type === "IDAT") image.push(data);
    else if (type === "fdAT") image.push(data.subarray(Math.min(4, data.length)));
    else if (type === "zTXt" || type === "iCCP") {
      const nul = data.indexOf(0);
      if (nul < 0 || nul + 2 > data.length)
        throw new UnpackError(label, "has no keyword terminator");
      addPart(state, label, data.subarray(0, nul), depth);
      addPart(state, label, inflate(state, data.subarray(nul + 2), "zlib", label), depth);
    } else if (type === "iTXt") unpackPngInternationalText(state, data, label, depth);
    else if (type === "tEXt") addPart(state, label, data, depth);
    else if (type === "IEND") ended = true;
    else unpack(state, data, label, depth + 1);
    at = end + 4;
  }
  if (image.length > 0) {
    const label = within("PNG image data", outer);
    addPart(state, label, inflate(state, Buffer.concat(image), "zlib", label), depth);
  }
  if (at < png.length)
    unpack(state, png.subarray(at), within("data after the PNG end", outer), depth + 1);
}

/** iTXt: keyword NUL, compression flag, method, language NUL, translated keyword NUL, text. */
function unpackPngInternationalText(
  state: UnpackState,
  data: Buffer,
  label: string,
  depth: number,
): void {
  const keywordEnd = data.indexOf(0);
  const languageEnd = keywordEnd < 0 ? -1 : data.indexOf(0, keywordEnd + 3);
  const translatedEnd = languageEnd < 0 ? -1 : data.indexOf(0, languageEnd + 1);
  if (translatedEnd < 0) throw new UnpackError(label, "is missing one of its NUL separators");
  const compressed = data[keywordEnd + 1] !== 0;
  addPart(state, label, data.subarray(0, translatedEnd), depth);
  const text = data.subarray(translatedEnd + 1);
  addPart(state, label, compressed ? inflate(state, text, "zlib", label) : text, depth);
}

function unpackTar(state: UnpackState, bytes: Uint8Array, outer: string, depth: number): void {
  const tar = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let member = 0;
  while (at + TAR_BLOCK <= tar.length) {
    const header = tar.subarray(at, at + TAR_BLOCK);
    if (header.every((b) => b === 0)) break;
    member += 1;
    const label = within(`tar member #${member}`, outer);
    const sizeField = header
      .toString("latin1", 124, 136)
      .replace(/[\0 ]+$/, "")
      .trim();
    if (!/^[0-7]*$/.test(sizeField))
      throw new UnpackError(label, "has a size field the gate cannot read");
    const size = sizeField === "" ? 0 : Number.parseInt(sizeField, 8);
    const start = at + TAR_BLOCK;
    if (start + size > tar.length) throw new UnpackError(label, "runs past the end of the archive");
    // A plain member is already plain in the archive; only a packed one needs unpacking.
    unpack(state, tar.subarray(start, start + size), label, depth + 1);
    at = start + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
  }
}

/**
 * A zip archive by its central directory, as unzip reads it: stored members are looked into
 * when packed, deflated ones inflated. A member the directory does not list (a reader that
 * walks local headers would still find it), an encrypted one, ZIP64 or any other method is
 * refused.
 */
function unpackZip(state: UnpackState, bytes: Uint8Array, outer: string, depth: number): void {
  const zip = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const archive = within("zip archive", outer);
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === ZIP_END) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new UnpackError(archive, "has no end-of-archive record");
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  if (count === 0xffff || at === 0xffffffff) {
    throw new UnpackError(archive, "is a ZIP64 archive, which the gate does not read");
  }
  const covered: [start: number, end: number][] = [];
  for (let n = 1; n <= count; n++) {
    const label = within(`zip member #${n}`, outer);
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== ZIP_CENTRAL) {
      throw new UnpackError(archive, "has a damaged central directory");
    }
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const local = zip.readUInt32LE(at + 42);
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== ZIP_LOCAL) {
      throw new UnpackError(label, "has a damaged local header");
    }
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    if (start + size > zip.length) throw new UnpackError(label, "runs past the end of the archive");
    if ((flags & 1) !== 0) throw new UnpackError(label, "is encrypted, so the gate cannot read it");
    covered.push([local, start + size]);
    const data = zip.subarray(start, start + size);
    if (method === 0) unpack(state, data, label, depth + 1);
    else if (method === 8) addPart(state, label, inflate(state, data, "deflate", label), depth);
    else {
      throw new UnpackError(label, `uses compression method ${method}, which the gate cannot read`);
    }
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  for (
    let i = zip.indexOf("PK\x03\x04", 0, "latin1");
    i >= 0;
    i = zip.indexOf("PK\x03\x04", i + 1, "latin1")
  ) {
    if (!covered.some(([from, to]) => i >= from && i < to)) {
      throw new UnpackError(archive, "holds a member its central directory does not list");
    }
  }
}
