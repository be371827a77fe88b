// Spellings a reader undoes without thinking and a byte scanner does not: invisible characters
// between the letters, UTF-16, MIME transfer encodings inside multipart parts, and gzip, zlib
// and bzip2 streams, raw or base64'd, inside a body that declares none (base64/hex runs and
// raw deflate, which have no marker, are in generic-runs.ts and compressed-streams.ts). Each
// transform runs only where
// the prefilter saw its marker (a literal it finds in the same pass as the secrets), so clean
// text pays nothing. Text stays a latin1 string of bytes throughout, as in body-decoding.ts.
import { constants, inflateRawSync } from "node:zlib";
import { BZIP2_BLOCK_MAGIC, ZLIB_HEADERS } from "./compressed-streams.js";

/** What a marker says about its text: which transform may uncover something. */
export type MarkerKind = "invisible" | "nul" | "mime" | "gzip-base64" | "gzip" | "zlib" | "bzip2";

export interface Marker {
  kind: MarkerKind;
  /** latin1 bytes; matched case-insensitively, like every prefilter literal */
  text: string;
}

/**
 * Code points that show as nothing: soft hyphen, zero-width space and joiners, direction
 * marks, word joiner and invisible operators, fillers, variation selectors, the BOM, tags.
 */
const INVISIBLE_RANGES: readonly (readonly [number, number])[] = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x061c, 0x061c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x2064],
  [0x2066, 0x206f],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0x1d173, 0x1d17a],
  [0xe0000, 0xe007f],
  [0xe0100, 0xe01ef],
];

export function isInvisible(codePoint: number): boolean {
  for (const [from, to] of INVISIBLE_RANGES) {
    if (codePoint >= from && codePoint <= to) return true;
  }
  return false;
}

/** Every invisible code point's UTF-8 bytes, as latin1: the markers and the strip pattern. */
function invisibleSequences(): string[] {
  const out: string[] = [];
  for (const [from, to] of INVISIBLE_RANGES) {
    for (let cp = from; cp <= to; cp++) {
      out.push(Buffer.from(String.fromCodePoint(cp), "utf8").toString("latin1"));
    }
  }
  return out;
}

const INVISIBLE_UTF8 = invisibleSequences();
const INVISIBLE_PATTERN = new RegExp(
  INVISIBLE_UTF8.map((s) => [...s].map((c) => `\\x${c.charCodeAt(0).toString(16)}`).join("")).join(
    "|",
  ),
  "g",
);

export const MARKERS: readonly Marker[] = [
  ...INVISIBLE_UTF8.map((text) => ({ kind: "invisible" as const, text })),
  { kind: "nul", text: "\0" },
  // A part header that says its body is base64 or quoted-printable.
  { kind: "mime", text: "content-transfer-encoding" },
  // A gzip member's first three bytes (magic, deflate), raw and as base64 at a run's start.
  { kind: "gzip", text: "\x1f\x8b\x08" },
  { kind: "gzip-base64", text: "H4sI" },
  // A zlib header (matched in any case: the scanner looks for the exact bytes once it fires),
  // and bzip2's block magic. Their base64 forms are found by decoding base64 runs.
  ...ZLIB_HEADERS.map((text) => ({ kind: "zlib" as const, text })),
  { kind: "bzip2", text: BZIP2_BLOCK_MAGIC },
];

/** The text without its invisible characters (as UTF-8 bytes in latin1). */
export function stripInvisible(latin1: string): string {
  return latin1.replace(INVISIBLE_PATTERN, "");
}

/** Fewer UTF-16 characters than this in a row are not taken for text. */
const MIN_UTF16_RUN = 4;

/**
 * The printable-ASCII runs of `bytes` read as UTF-16, little- and big-endian, at any
 * alignment, each run on its own line; invisible code units inside a run are dropped. Enough
 * for credentials, which are ASCII; known secrets' own UTF-16 forms are literals.
 */
export function utf16Text(bytes: Uint8Array): string {
  const runs: string[] = [];
  for (const big of [false, true]) {
    let run: number[] = [];
    let i = 0;
    const flush = () => {
      if (run.length >= MIN_UTF16_RUN) runs.push(String.fromCharCode(...run));
      run = [];
    };
    while (i + 1 < bytes.length) {
      const a = bytes[i] as number;
      const b = bytes[i + 1] as number;
      const unit = big ? (a << 8) | b : (b << 8) | a;
      if ((unit >= 0x20 && unit < 0x7f) || (unit >= 0x09 && unit <= 0x0d)) {
        run.push(unit);
        // Spread arguments have a limit: long runs go out in pieces, joined below.
        if (run.length >= 8192) {
          runs.push(String.fromCharCode(...run));
          run = [];
        }
        i += 2;
      } else if (unit !== 0 && isInvisible(unit)) {
        i += 2;
      } else {
        flush();
        i += 1;
      }
    }
    flush();
  }
  return runs.join("\n");
}

export type TransferEncoding = "base64" | "quoted-printable";

export interface EncodedPart {
  encoding: TransferEncoding;
  /** The part's body, decoded. */
  bytes: Buffer;
}

const CTE_HEADER = /content-transfer-encoding[ \t]*:[ \t]*"?([A-Za-z0-9-]+)/gi;

/**
 * The bodies of MIME parts whose headers declare base64 or quoted-printable, decoded. A part
 * ends at the next delimiter of the boundary on the line before its headers (so nested
 * multiparts and a Content-Type that lies both work), or at the end of the text.
 */
export function transferEncodedParts(latin1: string): EncodedPart[] {
  const parts: EncodedPart[] = [];
  CTE_HEADER.lastIndex = 0;
  for (let m = CTE_HEADER.exec(latin1); m !== null; m = CTE_HEADER.exec(latin1)) {
    const encoding = (m[1] ?? "").toLowerCase();
    if (encoding !== "base64" && encoding !== "quoted-printable") continue;
    const start = bodyStart(latin1, m.index);
    if (start === -1) continue;
    const end = partEnd(latin1, delimiterBefore(latin1, m.index), start);
    const text = latin1.slice(start, end);
    parts.push({
      encoding,
      bytes:
        encoding === "base64"
          ? Buffer.from(text, "base64")
          : Buffer.from(decodeQuotedPrintable(text), "latin1"),
    });
  }
  return parts;
}

/** Just past the blank line that ends the header block holding `at`; -1 when none does. */
function bodyStart(text: string, at: number): number {
  const crlf = text.indexOf("\r\n\r\n", at);
  const lf = text.indexOf("\n\n", at);
  if (crlf === -1 && lf === -1) return -1;
  if (lf === -1 || (crlf !== -1 && crlf < lf)) return crlf + 4;
  return lf + 2;
}

/** The "--boundary" line just before the header block holding `at`, or undefined. */
function delimiterBefore(text: string, at: number): string | undefined {
  const newline = text.lastIndexOf("\n--", at);
  const from = newline !== -1 ? newline + 1 : text.startsWith("--") ? 0 : -1;
  if (from === -1) return undefined;
  const eol = text.indexOf("\n", from);
  const line = text.slice(from, eol === -1 || eol > at ? at : eol).trimEnd();
  return line.length > 2 ? line : undefined;
}

function partEnd(text: string, delimiter: string | undefined, start: number): number {
  if (delimiter === undefined) return text.length;
  let at = text.indexOf(delimiter, start);
  while (at !== -1) {
    if (at === start || text[at - 1] === "\n") return at;
    at = text.indexOf(delimiter, at + 1);
  }
  return text.length;
}

/** Soft line breaks removed, =XX turned into its byte; a malformed escape stays as it is. */
export function decodeQuotedPrintable(text: string): string {
  return text
    .replace(/=[ \t]*\r?\n/g, "")
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
}

export type Inflated = { ok: true; bytes: Buffer } | { ok: false; reason: "too-large" | "corrupt" };

/**
 * The gzip member starting at `start` (raw bytes, or base64 when `base64`), inflated to at
 * most `maxBytes`. Whatever follows the member is ignored and a member cut short yields what
 * it holds, as a lenient reader would.
 */
export function inflateGzipAt(
  input: Uint8Array | string,
  start: number,
  base64: boolean,
  maxBytes: number,
): Inflated {
  // Deflate's worst case (stored blocks) adds 5 bytes per 64 KiB: no more input can matter.
  const maxInput = maxBytes + (maxBytes >> 10) + 1024;
  let member: Uint8Array;
  if (base64) {
    const text = slice(input, start, Math.ceil((maxInput * 4) / 3) * 2 + 64);
    member = Buffer.from(/^[A-Za-z0-9+/_=\r\n-]+/.exec(text)?.[0] ?? "", "base64");
  } else {
    member =
      typeof input === "string"
        ? Buffer.from(input.slice(start, start + maxInput), "latin1")
        : input.subarray(start, start + maxInput);
  }
  const deflate = gzipPayloadStart(member);
  if (deflate === -1) return { ok: false, reason: "corrupt" };
  try {
    return {
      ok: true,
      bytes: inflateRawSync(member.subarray(deflate), {
        maxOutputLength: Math.max(1, maxBytes),
        finishFlush: constants.Z_SYNC_FLUSH,
      }),
    };
  } catch (error) {
    return { ok: false, reason: error instanceof RangeError ? "too-large" : "corrupt" };
  }
}

function slice(input: Uint8Array | string, start: number, length: number): string {
  if (typeof input === "string") return input.slice(start, start + length);
  const part = input.subarray(start, start + length);
  return Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString("latin1");
}

/** Where a gzip member's deflate data starts, past its header (RFC 1952); -1 if malformed. */
function gzipPayloadStart(b: Uint8Array): number {
  if (b.length < 10 || b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8) return -1;
  const flags = b[3] as number;
  let at = 10;
  if (flags & 4) at += 2 + ((b[10] ?? 0) | ((b[11] ?? 0) << 8));
  for (const flag of [8, 16]) {
    if (flags & flag) {
      const nul = b.indexOf(0, at);
      if (nul === -1) return -1;
      at = nul + 1;
    }
  }
  if (flags & 2) at += 2;
  return at <= b.length ? at : -1;
}
