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

/** Per 16 bits (two bytes, either order): 1 when both are in the alphabets. */
const PAIR = new Uint8Array(65536);
for (let lo = 0; lo < 256; lo++) {
  if (CLASS[lo] === 0) continue;
  for (let hi = 0; hi < 256; hi++) if (CLASS[hi] !== 0) PAIR[lo | (hi << 8)] = 1;
}
/** Whole aligned 4-byte words inside any run of MIN_RUN_LENGTH bytes: at least this many. */
const RUN_WORDS = (MIN_RUN_LENGTH - 3) >> 2;
/** Shorter inputs are read byte by byte. */
const MIN_WORD_INPUT = 256;

/**
 * The [start, end) spans of runs of at least MIN_RUN_LENGTH characters in `input` (bytes, or
 * bytes as latin1), at most `limit` of them. Reads aligned 4-byte words, skipping as Horspool's
 * search does: any run holds RUN_WORDS whole words all in the alphabets, so a word that is not
 * rules out the RUN_WORDS - 1 words before the next probe, and one that is looks back only to
 * the first word that is not. Ordinary text costs a fraction of a pass; each candidate is then
 * measured byte by byte.
 */
export function findRuns(input: Uint8Array | string, limit = Number.POSITIVE_INFINITY): number[] {
  // One monomorphic loop over bytes: a string is copied once (latin1 keeps its offsets).
  const b = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  const spans: number[] = [];
  if (b.length < MIN_WORD_INPUT) bytewiseRuns(b, spans, limit);
  else wordRuns(b, spans, limit);
  return spans;
}

/** The word-probing search of findRuns, in a function of its own: compiled once, for one path. */
function wordRuns(b: Uint8Array, spans: number[], limit: number) {
  const head = (4 - (b.byteOffset & 3)) & 3;
  const words = new Uint32Array(b.buffer, b.byteOffset + head, (b.length - head) >> 2);
  const count = words.length;
  let j = RUN_WORDS - 1;
  while (j < count) {
    // Two words per probe: in source-like text 4 words in 10 are whole, so a branch on one word
    // is a coin toss the CPU mispredicts often; on both, it mostly falls one way (a third less
    // time over the bench corpus). Either word not whole rules out the windows ending up to
    // j + 3.
    if ((whole(words, j) & whole(words, j - 1)) === 0) {
      j += RUN_WORDS - 1;
      continue;
    }
    const stop = j - RUN_WORDS + 1;
    let k = j - 2;
    while (k >= stop && whole(words, k) !== 0) k--;
    if (k >= stop) {
      j = k + RUN_WORDS;
      continue;
    }
    j = candidate(b, head, stop, j, spans);
    if (spans.length >= 2 * limit) break;
  }
}

/** 1 when all four bytes of the word are in the alphabets. */
function whole(words: Uint32Array, at: number): number {
  const w = words[at] as number;
  return (PAIR[w & 0xffff] as number) & (PAIR[w >>> 16] as number);
}

/**
 * Words `stop` to `j` are all in the alphabets: the run holding them is recorded if it is long
 * enough. Returns the next word to probe. Kept out of wordRuns so that its loop, compiled
 * early, meets no path it has not seen.
 */
function candidate(b: Uint8Array, head: number, stop: number, j: number, spans: number[]): number {
  let start = head + 4 * stop;
  while (start > 0 && CLASS[b[start - 1] as number] !== 0) start--;
  let lineEnd = head + 4 * (j + 1);
  while (lineEnd < b.length && CLASS[b[lineEnd] as number] !== 0) lineEnd++;
  let end = lineEnd;
  if (lineEnd - start >= MIN_RUN_LENGTH) {
    end = runEnd(b, start, lineEnd);
    spans.push(start, end);
  }
  // The next run starts at `end` or after: its whole words from the first one there.
  return Math.ceil((end - head) / 4) + RUN_WORDS - 1;
}

/** The byte-by-byte search, for short inputs: every run, as findRuns gives them. */
function bytewiseRuns(b: Uint8Array, spans: number[], limit: number) {
  let start = 0;
  while (start < b.length && spans.length < 2 * limit) {
    while (start < b.length && CLASS[b[start] as number] === 0) start++;
    let lineEnd = start;
    while (lineEnd < b.length && CLASS[b[lineEnd] as number] !== 0) lineEnd++;
    if (lineEnd - start < MIN_RUN_LENGTH) {
      start = lineEnd;
      continue;
    }
    const end = runEnd(b, start, lineEnd);
    spans.push(start, end);
    start = end;
  }
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
