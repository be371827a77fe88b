// Compressed streams inside a body that declares no Content-Encoding: zlib (RFC 1950), raw
// deflate (RFC 1951, no header at all) and bzip2, each decompressed to at most the scan's
// remaining budget. Decoding is lenient, as an attacker's own reader would be: a stream cut
// short or corrupted part-way yields what it held up to the damage, never nothing.
//
// Raw deflate has no marker, so where to try it is a rule, not a sighting: the start of a
// binary blob (a body, a WebSocket frame, a decoded base64/hex run) that is not valid UTF-8
// and does not start with the signature of a known binary format. It is tried once, at
// offset 0, within the budget; when it inflates without error (a stream cut short counts:
// it inflates under a sync flush) to text, that text is scanned. A raw
// stream placed after other binary bytes is not found this way: a sender needs the receiver
// to know the offset, and the blob is still scanned as it is for the credential rules.
// Must never return or log a decoded value to anything but the scanner.
import { isUtf8 } from "node:buffer";
import { constants, inflateRawSync, inflateSync } from "node:zlib";
import Bunzip from "seek-bzip";

export type StreamKind = "zlib" | "deflate-raw" | "bzip2";

export type Decompressed =
  | { ok: true; bytes: Buffer }
  | { ok: false; reason: "too-large" | "corrupt" };

/** A zlib header's first bytes at every compression level (CMF 0x78, FLG with a valid check). */
export const ZLIB_HEADERS: readonly string[] = ["\x78\x01", "\x78\x5e", "\x78\x9c", "\x78\xda"];

/** The bzip2 block magic (the digits of pi, BCD): it follows "BZh1".."BZh9" in every stream. */
export const BZIP2_BLOCK_MAGIC = "1AY&SY";
const BZIP2_HEADER = /^BZh[1-9]$/;

/** Input inflated first, to turn garbage away at the cost of one small call. */
const PROBE_BYTES = 64;

/** Fewer inflated bytes than this hold no secret (known secrets are 8 bytes or more). */
const MIN_USEFUL_OUTPUT = 8;

/**
 * The stream of `kind` at the start of `bytes`, decompressed to at most `maxBytes`. A stream
 * that is damaged part-way yields what it held before the damage; one that yields nothing
 * useful is "corrupt".
 */
export function decompressStream(
  kind: StreamKind,
  bytes: Uint8Array,
  maxBytes: number,
): Decompressed {
  if (kind === "bzip2") return bunzip(bytes, maxBytes);
  const inflate = kind === "zlib" ? inflateSync : inflateRawSync;
  const max = Math.max(1, maxBytes);
  // Deflate's worst case (stored blocks) adds 5 bytes per 64 KiB: no more input can matter.
  const input = bytes.subarray(0, max + (max >> 10) + 1024);
  if (kind === "deflate-raw" && !rawDeflateMayStart(input)) return { ok: false, reason: "corrupt" };
  const attempt = (length: number): Buffer | "too-large" | "corrupt" => {
    // Most attempts fail on garbage: their errors need no stack trace, small ones no big chunk.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return inflate(input.subarray(0, length), {
        maxOutputLength: max,
        finishFlush: constants.Z_SYNC_FLUSH,
        chunkSize: length <= PROBE_BYTES ? 1024 : 16 * 1024,
      });
    } catch (error) {
      return error instanceof RangeError ? "too-large" : "corrupt";
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
  };
  // Garbage after a false marker fails within its first bytes: one small inflate says so.
  if (input.length > PROBE_BYTES && attempt(PROBE_BYTES) === "corrupt") {
    return { ok: false, reason: "corrupt" };
  }
  const whole = attempt(input.length);
  if (whole === "too-large") return { ok: false, reason: "too-large" };
  if (whole !== "corrupt") return { ok: true, bytes: whole };
  // Raw deflate has no marker: only a stream that inflates cleanly is taken for one, or any
  // binary blob would be read as some text.
  if (kind === "deflate-raw") return { ok: false, reason: "corrupt" };
  // Damaged somewhere: a truncated stream inflates without error under a sync flush, so the
  // longest prefix that still inflates gives everything before the damage (binary search,
  // log2(n) inflates, each failing fast on garbage).
  let good = 0;
  let best: Buffer | undefined;
  let bad = input.length;
  while (bad - good > 1) {
    const mid = (good + bad) >>> 1;
    const out = attempt(mid);
    if (out === "too-large") return { ok: false, reason: "too-large" };
    if (out === "corrupt") bad = mid;
    else {
      good = mid;
      best = out;
    }
  }
  if (best === undefined || best.length < MIN_USEFUL_OUTPUT)
    return { ok: false, reason: "corrupt" };
  return { ok: true, bytes: best };
}

/**
 * Whether a raw deflate stream may start here, by its first block's header: not the reserved
 * block type, and a stored block's length checked against its complement.
 */
function rawDeflateMayStart(b: Uint8Array): boolean {
  const type = ((b[0] as number) >> 1) & 3;
  if (type === 3) return false;
  if (type !== 0) return true;
  return (
    b.length >= 5 &&
    ((b[1] as number) ^ (b[3] as number)) === 0xff &&
    ((b[2] as number) ^ (b[4] as number)) === 0xff
  );
}

class OutputFull extends Error {}

/** bzip2 through seek-bzip, byte by byte into a buffer that stops at `maxBytes`. */
function bunzip(bytes: Uint8Array, maxBytes: number): Decompressed {
  let buffer = Buffer.alloc(Math.min(Math.max(64, bytes.length * 4), Math.max(1, maxBytes)));
  let length = 0;
  const output = {
    writeByte(byte: number) {
      if (length >= buffer.length) {
        if (length >= maxBytes) throw new OutputFull();
        const grown = Buffer.alloc(Math.min(buffer.length * 2, maxBytes));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      buffer[length++] = byte;
    },
  };
  let pos = 0;
  const input = {
    // Past the end the reader gets zero bits for a while (a cut stream fails its next check),
    // then an error: a cut stream cannot spin.
    readByte() {
      if (pos >= bytes.length + 4096) throw new Error("bzip2 stream cut short");
      const byte = pos < bytes.length ? (bytes[pos] as number) : 0;
      pos++;
      return byte;
    },
    read(into: Uint8Array, offset: number, length: number) {
      if (pos >= bytes.length) return -1;
      const n = Math.min(length, bytes.length - pos);
      into.set(bytes.subarray(pos, pos + n), offset);
      pos += n;
      return n;
    },
    seek(at: number) {
      pos = at;
    },
    eof() {
      return pos >= bytes.length;
    },
  };
  try {
    Bunzip.decode(input, output, true);
  } catch (error) {
    if (error instanceof OutputFull) return { ok: false, reason: "too-large" };
    // Damaged or cut: what came out before the damage is what a lenient reader shows.
    if (length < MIN_USEFUL_OUTPUT) return { ok: false, reason: "corrupt" };
  }
  return { ok: true, bytes: buffer.subarray(0, length) };
}

/** Where the bzip2 stream whose block magic ends at `end` starts, or -1 when none does. */
export function bzip2StreamStart(text: string, end: number): number {
  const start = end - BZIP2_BLOCK_MAGIC.length - 4;
  return start >= 0 && BZIP2_HEADER.test(text.slice(start, start + 4)) ? start : -1;
}

/** Binary formats whose start says what they are; they are not tried as raw deflate. */
const BINARY_SIGNATURES: readonly number[][] = [
  [0x89, 0x50, 0x4e, 0x47], // PNG
  [0xff, 0xd8, 0xff], // JPEG
  [0x47, 0x49, 0x46, 0x38], // GIF
  [0x52, 0x49, 0x46, 0x46], // RIFF (WebP, WAV)
  [0x1f, 0x8b], // gzip: inflated by its own marker
  [0x42, 0x5a, 0x68], // bzip2: by its own marker
  [0x78], // zlib: by its own marker
  [0x50, 0x4b, 0x03, 0x04], // zip
  [0x25, 0x50, 0x44, 0x46], // PDF
  [0x7f, 0x45, 0x4c, 0x46], // ELF
  [0x00, 0x61, 0x73, 0x6d], // WebAssembly
  [0x28, 0xb5, 0x2f, 0xfd], // zstd: refused where declared, opaque here
  [0x50, 0x41, 0x43, 0x4b], // git pack
];

export function isKnownBinary(bytes: Uint8Array): boolean {
  return BINARY_SIGNATURES.some((sig) => sig.every((b, i) => bytes[i] === b));
}

/**
 * A blob raw deflate is tried on: not tiny, not UTF-8 text at its start (where a raw stream
 * would be), not a known binary format, and a valid first block header whose first bytes
 * inflate. Each check is bounded: no pass over the whole blob.
 */
export function mayBeRawDeflate(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    !startsAsUtf8(bytes) &&
    !isKnownBinary(bytes) &&
    rawDeflateMayStart(bytes) &&
    inflates(inflateRawSync, bytes.subarray(0, PROBE_BYTES))
  );
}

/**
 * Whether the first 4 KiB are UTF-8 (a character cut at the end allowed). Deflate output is
 * never that; a stored block's plain bytes are scanned as they are anyway.
 */
function startsAsUtf8(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 4096);
  if (isUtf8(head)) return true;
  if (head.length < 4096) return false;
  for (let cut = 1; cut <= 3; cut++) {
    if (isUtf8(head.subarray(0, head.length - cut))) return true;
  }
  return false;
}

function inflates(inflate: typeof inflateRawSync, bytes: Uint8Array): boolean {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    inflate(bytes, {
      finishFlush: constants.Z_SYNC_FLUSH,
      chunkSize: 1024,
      maxOutputLength: 1 << 16,
    });
    return true;
  } catch (error) {
    return error instanceof RangeError;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** Printable ASCII or whitespace, at least 9 bytes in 10 of the first 512: text to scan. */
export function looksLikeText(bytes: Uint8Array | string): boolean {
  const n = Math.min(bytes.length, 512);
  if (n === 0) return false;
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const c = typeof bytes === "string" ? bytes.charCodeAt(i) : (bytes[i] as number);
    if ((c >= 0x20 && c < 0x7f) || c === 0x09 || c === 0x0a || c === 0x0d) printable++;
  }
  return printable * 10 >= n * 9;
}
