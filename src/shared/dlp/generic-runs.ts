// Long base64, base64url and hex runs in text of unknown shape: where they are and what they
// decode to, so the scanner can read a credential however many times it was encoded. A run
// is at least MIN_RUN_LENGTH characters of one alphabet (lines wrapped as MIME and PEM wrap
// them count as one run). Ordinary payloads (images, tarballs, integrity hashes, git SHAs)
// decode to binary: one level, scanned as bytes. Only a run whose decoding is text or holds
// another run is a level of a chain, which the scanner bounds. Never returns a decoded value
// to anything but the scanner.
import { looksLikeText } from "./compressed-streams.js";

/** Shorter runs are words and identifiers; base64 of an 18-byte secret is 24 characters. */
export const MIN_RUN_LENGTH = 24;
/** A wrapped line at least this long continues its run on the next line (MIME 76, PEM 64). */
const MIN_WRAPPED_LINE = 40;

export type RunEncoding = "base64" | "hex";

export interface Decoding {
  encoding: RunEncoding;
  bytes: Buffer;
}

/** 1: base64/base64url alphabet; 2: also hex; 0: neither. */
const CLASS = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_") {
  CLASS[c.charCodeAt(0)] = 1;
}
for (const c of "0123456789abcdefABCDEF") CLASS[c.charCodeAt(0)] = 2;

const EQUALS = 0x3d;
const CR = 0x0d;
const LF = 0x0a;

/**
 * The [start, end) spans of runs of at least MIN_RUN_LENGTH characters in `input` (bytes, or
 * bytes as latin1), at most `limit` of them. Skips as Horspool's search does: a probe outside
 * the alphabets rules out the MIN_RUN_LENGTH bytes before the next probe, and one inside
 * looks back only until the first byte outside, past which the run would have to reach. So
 * ordinary text costs a fraction of a pass.
 */
export function findRuns(input: Uint8Array | string, limit = Number.POSITIVE_INFINITY): number[] {
  // One monomorphic loop over bytes: a string is copied once (latin1 keeps its offsets).
  const b = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  const n = b.length;
  const spans: number[] = [];
  let p = MIN_RUN_LENGTH - 1;
  while (p < n) {
    if (CLASS[b[p] as number] === 0) {
      p += MIN_RUN_LENGTH;
      continue;
    }
    const stop = p - MIN_RUN_LENGTH + 1;
    let q = p - 1;
    while (q >= stop && CLASS[b[q] as number] !== 0) q--;
    if (q >= stop) {
      // A run holding p starts after q, so it reaches q + MIN_RUN_LENGTH or is too short.
      p = q + MIN_RUN_LENGTH;
      continue;
    }
    let start = stop;
    while (start > 0 && CLASS[b[start - 1] as number] !== 0) start--;
    const end = runEnd(b, start, p + 1);
    spans.push(start, end);
    if (spans.length >= 2 * limit) break;
    p = end + MIN_RUN_LENGTH;
  }
  return spans;
}

/** Where the run from `start` ends: padding kept, lines wrapped as MIME and PEM wrap joined. */
function runEnd(b: Uint8Array, start: number, from: number): number {
  const n = b.length;
  let lineStart = start;
  let end = from;
  for (;;) {
    while (end < n && CLASS[b[end] as number] !== 0) end++;
    let next = end;
    while (next < n && b[next] === EQUALS && next - end < 2) next++;
    if (end - lineStart < MIN_WRAPPED_LINE) return next;
    let after = next;
    if (after < n && b[after] === CR) after++;
    if (after + 1 >= n || b[after] !== LF || CLASS[b[after + 1] as number] === 0) return next;
    lineStart = after + 1;
    end = lineStart;
  }
}

/**
 * What a run may be: hex when it is all hex digits of even length, and base64 (either
 * alphabet, line breaks and padding dropped) unless it is hex that decodes to text.
 */
export function decodeRun(run: string): Decoding[] {
  const compact = run.replace(/[\r\n=]/g, "");
  const out: Decoding[] = [];
  if (compact.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(compact)) {
    const bytes = Buffer.from(compact, "hex");
    out.push({ encoding: "hex", bytes });
    if (looksLikeText(bytes)) return out;
  }
  out.push({ encoding: "base64", bytes: Buffer.from(compact, "base64") });
  return out;
}

/** Whether `bytes` hold a run: their decoding is a further level of a chain. */
export function holdsRun(bytes: Uint8Array | string): boolean {
  return findRuns(bytes, 1).length > 0;
}
