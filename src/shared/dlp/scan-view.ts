// One view of what a request carries (the body, a header, a decoded part of either), scanned
// and then read again through every transform its markers call for: invisible characters out,
// UTF-16, MIME parts, gzip (raw and in base64), zlib, bzip2, raw deflate, and long base64/hex
// runs. Each transform is a further view, bounded by nesting (MAX_NESTING), by the decoded-bytes
// budget and by counts of streams; past any bound the scan is refused (Unscannable), never cut
// short. Returns matched text to the scanner only.
import { looksLikeJson, unescapeJsonText } from "./body-decoding.js";
import {
  BZIP2_BLOCK_MAGIC,
  bzip2StreamStart,
  decompressStream,
  looksLikeText,
  mayBeRawDeflate,
  ZLIB_HEADERS,
} from "./compressed-streams.js";
import { decodeRun, findRuns, holdsRun } from "./generic-runs.js";
import { inflateGzipAt, stripInvisible, transferEncodedParts, utf16Text } from "./normalise.js";
import type { UnscannableReason } from "./scan-types.js";
import { type MarkerHits, noMarkerHits, type RawMatch, type TextMatcher } from "./text-matcher.js";

export interface Located extends RawMatch {
  location: string;
}

/** Decodes inside decodes (a MIME part, a gzip stream in it, ...) before refusing. */
export const MAX_NESTING = 3;
/** Embedded streams inflated per scan before refusing: bounds the work a body can ask for. */
const MAX_INFLATES = 256;
/** Compressed streams that decode per scan (false markers that fail at once are not counted). */
const MAX_STREAM_ATTEMPTS = 16384;
/** Compressed bytes tried, and the most decompressed, to tell a stream's text from binary. */
const STREAM_HEAD_INPUT = 16 * 1024;
const STREAM_HEAD_OUTPUT = 64 * 1024;
const BACKSLASH = 0x5c;

/** Thrown inside a scan when part of it cannot be read; the scan answers with it. */
export class Unscannable {
  constructor(
    readonly reason: UnscannableReason,
    readonly detail: string,
  ) {}
}

/** What one request's scan has spent, over all its views. */
export interface ScanState {
  /** Decoded bytes still allowed in this scan. */
  budget: number;
  inflates: number;
  /** zlib, bzip2 and raw deflate streams tried; counted from the first. */
  attempts?: number;
  /** Whether any view held a piece of a known secret: only then are the pieces looked for. */
  piece?: boolean;
}

export interface ViewState {
  /** Containers opened to reach this view: MIME parts, gzip, zlib, bzip2, raw deflate. */
  depth: number;
  /**
   * Long base64/hex runs decoded to reach it (generic-runs.ts), counted apart from `depth`: an
   * ordinary compressed file (a tarball, a PNG's image data) holding an encoded blob is not a
   * chain of encodings, and must not be refused as one.
   */
  chain: number;
  stripped: boolean;
  utf16: boolean;
  /**
   * Binary streams are not looked for: the view is text with bytes taken out (invisible
   * characters), or the head of a binary stream scanned as it is.
   */
  noStreams?: boolean;
}

export const ROOT_VIEW: ViewState = { depth: 0, chain: 0, stripped: false, utf16: false };

/** One view being scanned: where its findings go, and how to open a further view. */
interface View {
  matcher: TextMatcher;
  state: ScanState;
  input: Uint8Array | string;
  location: string;
  view: ViewState;
  found: Located[];
  /** The input as a latin1 string, made once when a transform needs it. */
  latin1(): string;
  /** Scans `next` as a further view, its location suffixed with `suffix`. */
  again(next: Uint8Array | string, suffix: string, nextView: ViewState): void;
  /** Scans a container's decoded content: one level deeper. */
  decoded(bytes: Uint8Array, suffix: string): void;
}

/**
 * Matches in `input`, and in what the transforms its markers call for make of it, each placed
 * at `location` with the transforms' names appended ("body~base64~gzip"). Long base64/hex
 * runs are decoded and their decodings scanned too (generic-runs.ts), and a binary blob that
 * is not a known format is tried as raw deflate (compressed-streams.ts).
 */
export function scanView(
  matcher: TextMatcher,
  state: ScanState,
  input: Uint8Array | string,
  location: string,
  view: ViewState,
): Located[] {
  const hits = noMarkerHits();
  const found: Located[] = matcher
    .match(input, hits)
    .map((m) => ({ ...m, location }) satisfies Located);
  if (hits.piece) state.piece = true;
  let text: string | undefined;
  const v: View = {
    matcher,
    state,
    input,
    location,
    view,
    found,
    latin1: () => {
      text ??= typeof input === "string" ? input : bytesToLatin1(input);
      return text;
    },
    again: (next, suffix, nextView) =>
      found.push(...scanView(matcher, state, next, `${location}~${suffix}`, nextView)),
    decoded: (bytes, suffix) => {
      const inner = { depth: view.depth + 1, chain: view.chain, stripped: false, utf16: false };
      charge(state, bytes.length);
      v.again(bytes, suffix, inner);
      // A decoded JSON document with escapes: read as its reader would, too.
      if (bytes.includes(BACKSLASH) && looksLikeJson(undefined, bytes)) {
        v.again(unescapeJsonText(bytesToLatin1(bytes)), `${suffix}~json`, inner);
      }
    },
  };

  // Binary streams are read from the bytes as sent: a view with its invisible characters taken
  // out is text made for reading, and cutting bytes out of a binary stream only makes noise
  // that a lenient decoder would take for more nesting. (A stream so cut is broken for every
  // reader, so nothing is hidden in it.)
  const binary = view.noStreams !== true;
  if (binary) rawDeflate(v);
  decodedRuns(v);
  if (hits.kinds.size === 0) return found;

  if (hits.kinds.has("invisible") && !view.stripped) {
    const stripped = stripInvisible(v.latin1());
    if (stripped.length !== v.latin1().length)
      v.again(stripped, "invisible", { ...view, stripped: true, noStreams: true });
  }
  if (hits.kinds.has("nul") && !view.utf16) {
    const utf16 = utf16Text(typeof input === "string" ? Buffer.from(input, "latin1") : input);
    if (utf16.length > 0) v.again(utf16, "utf-16", { ...view, utf16: true });
  }
  if (binary) embeddedStreams(v, hits.kinds);
  mimeAndGzip(v, hits, binary);
  return found;
}

/** A binary blob that is not a known format, tried as raw deflate: text inside is a level. */
function rawDeflate(v: View) {
  if (typeof v.input === "string" || !mayBeRawDeflate(v.input)) return;
  const inflated = decompressStream("deflate-raw", v.input, v.state.budget);
  // Only text counts: binary that happens to inflate a little is noise, not a stream.
  if (inflated.ok && looksLikeText(inflated.bytes)) {
    countAttempt(v.state);
    if (v.view.depth >= MAX_NESTING) throw tooDeep();
    v.decoded(inflated.bytes, "deflate");
  } else if (!inflated.ok && inflated.reason === "too-large") charge(v.state, v.state.budget + 1);
}

/** Each long base64/hex run decoded and scanned, its matches shown once. */
function decodedRuns(v: View) {
  const decodedRun: ViewState = {
    depth: v.view.depth,
    chain: v.view.chain + 1,
    stripped: false,
    utf16: false,
  };
  const found = v.found;
  scanRuns(v.input, v.view, (bytes, suffix, text) => {
    charge(v.state, bytes.length);
    const before = found.length;
    // Binary decodings (images, hashes) are not read again as UTF-16 or without invisibles:
    // a known secret's UTF-16 base64 is a literal form already.
    v.again(bytes, suffix, text ? decodedRun : { ...decodedRun, stripped: true, utf16: true });
    // What the run's plain form already showed is not shown again as its decoding.
    const fresh = found
      .splice(before)
      .filter(
        (m) =>
          !found
            .slice(0, before)
            .some(
              (f) =>
                f.ruleId === m.ruleId &&
                (m.secretName !== undefined ? f.secretName === m.secretName : f.text === m.text),
            ),
      );
    found.push(...fresh);
  });
}

/** zlib and bzip2 streams where their headers occur. */
function embeddedStreams(v: View, kinds: ReadonlySet<string>) {
  if (!kinds.has("zlib") && !kinds.has("bzip2")) return;
  const { input, state, view } = v;
  const bytes = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  for (const [kind, at] of streamStarts(v.latin1(), kinds)) {
    // A stream of binary content (a PNG's pixels, an archive's members) is no spelling of
    // text: what its head holds is scanned as bytes, and it is neither read whole nor
    // counted as nesting, so an image cannot exhaust the budget or the bound.
    const head = decompressStream(
      kind,
      bytes.subarray(at, at + STREAM_HEAD_INPUT),
      STREAM_HEAD_OUTPUT,
    );
    if (head.ok && !looksLikeText(head.bytes) && !startsAnotherStream(head.bytes)) {
      countAttempt(state);
      charge(state, head.bytes.length);
      v.again(head.bytes, `${kind}-head`, {
        depth: view.depth,
        chain: view.chain,
        stripped: true,
        utf16: true,
        noStreams: true,
      });
      continue;
    }
    const out = decompressStream(kind, bytes.subarray(at), state.budget);
    if (out.ok) {
      countAttempt(state);
      // A false marker in binary inflates to little or nothing; a real stream is a level.
      if (view.depth >= MAX_NESTING) throw tooDeep();
      v.decoded(out.bytes, kind);
    } else if (out.reason === "too-large") charge(state, state.budget + 1);
  }
}

/** MIME transfer-encoded parts, and gzip members raw or in base64, where markers show them. */
function mimeAndGzip(v: View, hits: MarkerHits, binary: boolean) {
  const rawGzip = binary && hits.kinds.has("gzip");
  if (!hits.kinds.has("mime") && !rawGzip && !hits.kinds.has("gzip-base64")) return;
  const state = v.state;
  if (v.view.depth >= MAX_NESTING) throw tooDeep();
  if (hits.kinds.has("mime")) {
    for (const part of transferEncodedParts(v.latin1())) v.decoded(part.bytes, part.encoding);
  }
  for (const [ends, base64, width] of [
    [rawGzip ? hits.gzipEnds : [], false, 3],
    [hits.gzipBase64Ends, true, 4],
  ] as const) {
    for (const end of ends) {
      if (++state.inflates > MAX_INFLATES) {
        throw new Unscannable("encoding", `more than ${MAX_INFLATES} embedded gzip streams`);
      }
      const source = base64 || typeof v.input === "string" ? v.latin1() : v.input;
      const inflated = inflateGzipAt(source, end - width, base64, state.budget);
      if (inflated.ok) v.decoded(inflated.bytes, base64 ? "base64~gzip" : "gzip");
      else if (inflated.reason === "too-large") charge(state, state.budget + 1);
      // A stream that is not gzip after all: the raw text above was scanned as it is.
    }
  }
}

function tooDeep(): Unscannable {
  return new Unscannable("encoding", `encodings nested more than ${MAX_NESTING} deep`);
}

/**
 * Each long base64/hex run of `input`, decoded and handed to `scan`. A decoding that is text
 * or holds another run is one more level of a chain: past MAX_NESTING it is refused. Binary
 * decodings (images, archives, hashes) are scanned as bytes at any depth, their own markers
 * bounded as everywhere. Runs that start a base64 gzip member are left to its marker.
 */
function scanRuns(
  input: Uint8Array | string,
  view: ViewState,
  scan: (bytes: Uint8Array, suffix: string, text: boolean) => void,
) {
  const spans = findRuns(input);
  if (spans.length === 0) return;
  const text = typeof input === "string" ? input : undefined;
  for (let i = 0; i < spans.length; i += 2) {
    const start = spans[i] as number;
    const end = spans[i + 1] as number;
    const run =
      text !== undefined
        ? text.slice(start, end)
        : bytesToLatin1((input as Uint8Array).subarray(start, end));
    if (run.startsWith("H4sI")) continue;
    for (const d of decodeRun(run)) {
      const text = looksLikeText(d.bytes);
      const chained = text || holdsRun(d.bytes);
      if (chained && view.chain >= MAX_NESTING) {
        throw new Unscannable(
          "encoding",
          `base64/hex encodings nested more than ${MAX_NESTING} deep`,
        );
      }
      if (!chained && view.chain > MAX_NESTING) continue;
      scan(d.bytes, d.encoding, text);
    }
  }
}

/** Where zlib and bzip2 streams may start in `text` (exact bytes; the prefilter folds case). */
function streamStarts(
  text: string,
  kinds: ReadonlySet<string>,
): [kind: "zlib" | "bzip2", at: number][] {
  const out: [kind: "zlib" | "bzip2", at: number][] = [];
  if (kinds.has("zlib")) {
    for (const header of ZLIB_HEADERS) {
      for (let at = text.indexOf(header); at !== -1; at = text.indexOf(header, at + 1)) {
        out.push(["zlib", at]);
      }
    }
  }
  if (kinds.has("bzip2")) {
    for (
      let at = text.indexOf(BZIP2_BLOCK_MAGIC);
      at !== -1;
      at = text.indexOf(BZIP2_BLOCK_MAGIC, at + 1)
    ) {
      const start = bzip2StreamStart(text, at + BZIP2_BLOCK_MAGIC.length);
      if (start !== -1) out.push(["bzip2", start]);
    }
  }
  return out;
}

function countAttempt(state: ScanState) {
  state.attempts = (state.attempts ?? 0) + 1;
  if (state.attempts > MAX_STREAM_ATTEMPTS) {
    throw new Unscannable(
      "encoding",
      `more than ${MAX_STREAM_ATTEMPTS} embedded compressed streams`,
    );
  }
}

/** Whether `bytes` open with a gzip, zlib or bzip2 header: a container, not content. */
function startsAnotherStream(bytes: Uint8Array): boolean {
  const [a = 0, b = 0, c = 0, d = 0] = bytes;
  if (a === 0x1f && b === 0x8b && c === 8) return true;
  if ((a & 0x0f) === 8 && a >> 4 <= 7 && ((a << 8) | b) % 31 === 0) return true;
  return a === 0x42 && b === 0x5a && c === 0x68 && d >= 0x31 && d <= 0x39;
}

export function charge(state: ScanState, bytes: number) {
  state.budget -= bytes;
  if (state.budget < 0) {
    throw new Unscannable("too-large", "nested encodings decode past the size limit");
  }
}

export function bytesToLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
