// Turns what is on the wire into what a reader would see, so a secret cannot hide behind an
// encoding: content-encodings (bounded: a small body must not inflate into a large one), JSON
// string escapes and percent-encoding. Text stays a latin1 string of bytes throughout, so
// offsets and literals mean the same thing before and after.
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from "node:zlib";

export type DecodedBody =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; reason: "encoding" | "too-large"; detail: string };

/** Undoes Content-Encoding (last applied first); unknown or corrupt encodings are not guessed. */
export function decodeContentEncoding(
  bytes: Uint8Array,
  contentEncoding: string | undefined,
  maxBytes: number,
): DecodedBody {
  const codings = (contentEncoding ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  let current = bytes;
  for (const coding of codings.reverse()) {
    const options = { maxOutputLength: Math.max(1, maxBytes) };
    try {
      if (coding === "gzip" || coding === "x-gzip") current = gunzipSync(current, options);
      else if (coding === "br") current = brotliDecompressSync(current, options);
      else if (coding === "deflate") current = inflateDeflate(current, options);
      else {
        return { ok: false, reason: "encoding", detail: `content-encoding "${printable(coding)}"` };
      }
    } catch (error) {
      if (error instanceof RangeError) {
        return {
          ok: false,
          reason: "too-large",
          detail: `${coding} body inflates past ${maxBytes} bytes`,
        };
      }
      return { ok: false, reason: "encoding", detail: `corrupt ${coding} body` };
    }
  }
  if (current.length > maxBytes) {
    return { ok: false, reason: "too-large", detail: `body is larger than ${maxBytes} bytes` };
  }
  return { ok: true, bytes: current };
}

/** HTTP "deflate" is meant to be zlib-wrapped, but raw deflate is common in the wild. */
function inflateDeflate(bytes: Uint8Array, options: { maxOutputLength: number }): Buffer {
  try {
    return inflateSync(bytes, options);
  } catch (error) {
    if (error instanceof RangeError) throw error;
    return inflateRawSync(bytes, options);
  }
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?").slice(0, 40);
}

const SIMPLE_ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/**
 * Replaces JSON string escapes by the bytes they stand for (UTF-8 as latin1), leaving the rest
 * of the document as it is. Cheaper than parsing, and keeps a key next to its value for the
 * context rules. A loop over indexOf: String.replace with a callback is ten times slower here.
 */
export function unescapeJsonText(text: string): string {
  let at = text.indexOf("\\");
  if (at === -1) return text;
  let out = "";
  let last = 0;
  while (at !== -1 && at + 1 < text.length) {
    out += text.slice(last, at);
    const c = text[at + 1] as string;
    const unit = c === "u" ? hexUnit(text, at + 2) : -1;
    if (unit === -1) {
      out += SIMPLE_ESCAPES[c] ?? c;
      last = at + 2;
    } else if (unit < 0x80) {
      out += String.fromCharCode(unit);
      last = at + 6;
    } else {
      const low =
        unit >= 0xd800 && unit < 0xdc00 && text.startsWith("\\u", at + 6)
          ? hexUnit(text, at + 8)
          : -1;
      const pair = low >= 0xdc00 && low < 0xe000;
      out += utf8Latin1(pair ? String.fromCharCode(unit, low) : String.fromCharCode(unit));
      last = at + (pair ? 12 : 6);
    }
    at = text.indexOf("\\", last);
  }
  return out + text.slice(last);
}

/** The four hex digits at `at` as a number, or -1. */
function hexUnit(text: string, at: number): number {
  const hex = text.slice(at, at + 4);
  return /^[0-9a-fA-F]{4}$/.test(hex) ? Number.parseInt(hex, 16) : -1;
}

/** Decodes %XX (and "+" as space when asked) into bytes; malformed escapes stay as they are. */
export function decodePercent(text: string, plusAsSpace = false): string {
  const pattern = plusAsSpace ? /\+|%([0-9a-fA-F]{2})/g : /%([0-9a-fA-F]{2})/g;
  return text.replace(pattern, (m, hex: string | undefined) =>
    hex === undefined ? (m === "+" ? " " : m) : String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** A JSON document, by media type or by its first non-blank byte. */
export function looksLikeJson(contentType: string | undefined, bytes: Uint8Array): boolean {
  const media = mediaType(contentType);
  if (media === "application/json" || media === "text/json" || media.endsWith("+json")) return true;
  for (const b of bytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b || b === 0x5b;
  }
  return false;
}

export function isFormEncoded(contentType: string | undefined): boolean {
  return mediaType(contentType) === "application/x-www-form-urlencoded";
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

function utf8Latin1(s: string): string {
  return Buffer.from(s, "utf8").toString("latin1");
}
