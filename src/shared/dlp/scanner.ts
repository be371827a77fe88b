// The DLP engine: looks for credentials and the bottle's own secrets in everything a request
// carries (host, path, query, headers one by one and all together, body after decoding) and
// says where it found them. What it scans it also normalises where a marker says so (see
// normalise.ts), nested up to MAX_NESTING decodes within the decoded-bytes budget; past either
// the verdict is "unscannable", never a skip. The raw text is always scanned as well.
// It must never return, log or throw a matched value.
import {
  decodeContentEncoding,
  decodePercent,
  isFormEncoded,
  looksLikeJson,
  unescapeJsonText,
} from "./body-decoding.js";
import {
  BZIP2_BLOCK_MAGIC,
  bzip2StreamStart,
  decompressStream,
  looksLikeText,
  mayBeRawDeflate,
  ZLIB_HEADERS,
} from "./compressed-streams.js";
import { CREDENTIAL_RULES, type CredentialRule } from "./credential-rules.js";
import { decodeRun, findRuns, holdsRun } from "./generic-runs.js";
import { type KnownSecret, MIN_SECRET_LENGTH } from "./known-secrets.js";
import { locateInForm, locateInJson, sanitizeLocation } from "./locate-finding.js";
import {
  inflateGzipAt,
  MARKERS,
  stripInvisible,
  transferEncodedParts,
  utf16Text,
} from "./normalise.js";
import { MAX_PLACE_VALUES, type PlaceValue, placeValues, valueText } from "./place-values.js";
import type {
  DlpFinding,
  DlpVerdict,
  ScanBody,
  ScanTarget,
  UnscannableReason,
} from "./scan-types.js";
import { noMarkerHits, type RawMatch, type SecretPieces, TextMatcher } from "./text-matcher.js";

export interface DlpScannerOptions {
  knownSecrets?: readonly KnownSecret[];
  /** Defaults to CREDENTIAL_RULES. */
  rules?: readonly CredentialRule[];
  /** Largest body scanned after content-decoding; defaults to 40 MiB. */
  maxDecodedBytes?: number;
}

export interface SkippedSecret {
  name: string;
  reason: string;
}

export interface ScanOptions {
  /**
   * Names of known secrets this request may carry (a token on its way to the service it is
   * for). Their values are not findings, in any form, and neither is a credential-rule match
   * that is (part of) one of them.
   */
  allowedSecrets?: ReadonlySet<string>;
}

export interface DlpScanner {
  scan(target: ScanTarget, options?: ScanOptions): DlpVerdict;
  /** Known secrets left out (too short to match safely). */
  readonly skippedSecrets: readonly SkippedSecret[];
  /**
   * How many trailing bytes of a stream scanned in pieces (WebSocket messages) must be scanned
   * again with the start of the next piece, so that nothing split between two goes unseen.
   */
  readonly carryBytes: number;
}

interface Located extends RawMatch {
  location: string;
}

const MAX_FINDINGS = 50;
const BACKSLASH = 0x5c;
/** Decodes inside decodes (a MIME part, a gzip stream in it, ...) before refusing. */
export const MAX_NESTING = 3;
/** Embedded streams inflated per scan before refusing: bounds the work a body can ask for. */
const MAX_INFLATES = 256;
/** A credential match is at most this long (a PEM block's start, a long token). */
const CREDENTIAL_CARRY = 4096;

/** Thrown inside a scan when part of it cannot be read; the scan answers with it. */
class Unscannable {
  constructor(
    readonly reason: UnscannableReason,
    readonly detail: string,
  ) {}
}

interface ScanState {
  /** Decoded bytes still allowed in this scan. */
  budget: number;
  inflates: number;
  /** zlib, bzip2 and raw deflate streams tried; counted from the first. */
  attempts?: number;
  /** Whether any view held a piece of a known secret: only then are the pieces looked for. */
  piece?: boolean;
}

interface ViewState {
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

/** Compressed bytes tried, and the most decompressed, to tell a stream's text from binary. */
const STREAM_HEAD_INPUT = 16 * 1024;
const STREAM_HEAD_OUTPUT = 64 * 1024;

const ROOT_VIEW: ViewState = { depth: 0, chain: 0, stripped: false, utf16: false };

export function createDlpScanner(options: DlpScannerOptions = {}): DlpScanner {
  const skippedSecrets: SkippedSecret[] = [];
  const secrets = (options.knownSecrets ?? []).filter((s) => {
    if (s.value.length >= MIN_SECRET_LENGTH) return true;
    skippedSecrets.push({
      name: s.name,
      reason: `shorter than ${MIN_SECRET_LENGTH} characters`,
    });
    return false;
  });
  const matcher = new TextMatcher(options.rules ?? CREDENTIAL_RULES, secrets, MARKERS);
  const latin1Values = new Map(
    secrets.map((s) => [s.name, Buffer.from(s.value, "utf8").toString("latin1")] as const),
  );
  const maxDecodedBytes = options.maxDecodedBytes ?? 40 * 1024 * 1024;
  const carry = Math.max(CREDENTIAL_CARRY, matcher.longestForm);

  return {
    skippedSecrets,
    carryBytes: carry,
    scan(target, scanOptions = {}) {
      const state: ScanState = { budget: maxDecodedBytes, inflates: 0 };
      const view = (input: Uint8Array | string, location: string) =>
        scanView(matcher, state, input, location, ROOT_VIEW);
      const found: Located[] = [];
      const headers = [...(target.headers ?? [])];
      let pieces: SecretPieces[] = [];
      try {
        if (target.host !== undefined) found.push(...view(target.host, "host"));
        if (target.path !== undefined) {
          for (const text of decodedForms(target.path, false)) found.push(...view(text, "path"));
        }
        if (target.query !== undefined) {
          for (const text of decodedForms(target.query, true)) found.push(...view(text, "query"));
        }
        const values: string[] = [];
        const inHeaders: Located[] = [];
        for (const [name, value] of headers) {
          const location = `header:${name.toLowerCase()}`;
          for (const text of decodedForms(`${name}: ${value}`, false)) {
            inHeaders.push(...view(text, location));
          }
          values.push(value);
        }
        found.push(...inHeaders);
        if (values.length > 1) {
          // A value cut in pieces, one per header: adjacent pieces in the joined values, two
          // pieces of a known secret in any two headers; each only if no one header held it.
          const across = [
            ...view(values.join(""), "headers"),
            ...matcher.matchSplit(values).map((m) => ({ ...m, location: "headers" })),
          ];
          found.push(
            ...across.filter(
              (m) => !inHeaders.some((h) => h.ruleId === m.ruleId && h.text === m.text),
            ),
          );
        }
        let body: { bytes: Uint8Array; contentType?: string | undefined } | undefined;
        if (target.body !== undefined && target.body.bytes.length > 0) {
          // Decoded once: scanned here, then joined with the other places' values below.
          const decoded = decodeContentEncoding(
            target.body.bytes,
            target.body.contentEncoding,
            maxDecodedBytes,
          );
          if (!decoded.ok) throw new Unscannable(decoded.reason, decoded.detail);
          found.push(...scanBody(matcher, state, target.body, decoded.bytes));
          body = { bytes: decoded.bytes, contentType: target.body.contentType };
        }
        // Every place's values in order, as one text: a secret cut between two form fields,
        // two JSON members, two path segments, a header and the body ... is whole there; and
        // two pieces of a known secret in any two values, in either order.
        const places = placeValues({ path: target.path, query: target.query, headers, body });
        if (!places.ok) {
          throw new Unscannable(
            "encoding",
            `more than ${MAX_PLACE_VALUES} values (path segments, parameters, fields, members) to join`,
          );
        }
        if (places.values.length > 1) {
          const joined: Located[] = [];
          for (const chunk of joinedChunks(places.values, carry)) {
            if (chunk.length > state.budget) {
              throw new Unscannable(
                "too-large",
                "the request's values, joined, pass the size limit",
              );
            }
            charge(state, chunk.length);
            joined.push(...view(chunk, "joined"));
          }
          const ends = places.values.map((v) => headAndTail(v, matcher.longestForm));
          joined.push(...matcher.matchSplit(ends).map((m) => ({ ...m, location: "joined" })));
          found.push(
            ...joined.filter((m) => !found.some((f) => f.ruleId === m.ruleId && f.text === m.text)),
          );
        }
        // Every value lies whole in a view scanned above (the path, query and headers as sent
        // and decoded, the body as its reader decodes it), so no piece there means none here.
        if (state.piece === true) pieces = matcher.pieces(places.values);
      } catch (error) {
        if (error instanceof Unscannable) {
          return { status: "unscannable", reason: error.reason, detail: error.detail };
        }
        throw error;
      }
      const allowed = scanOptions.allowedSecrets;
      if (allowed === undefined || allowed.size === 0) return withPieces(toVerdict(found), pieces);
      const allowedValues = [...allowed].flatMap((name) => latin1Values.get(name) ?? []);
      return withPieces(
        toVerdict(
          found.filter(
            (f) =>
              !(f.secretName !== undefined && allowed.has(f.secretName)) &&
              !allowedValues.some((v) => v.includes(f.text) || f.text.includes(v)),
          ),
        ),
        pieces.filter((p) => !allowed.has(p.secretName)),
      );
    },
  };
}

function withPieces(verdict: DlpVerdict, pieces: SecretPieces[]): DlpVerdict {
  return pieces.length === 0 ? verdict : { ...verdict, pieces };
}

/**
 * The values joined, as texts to scan: whatever crosses a seam between two values lies within
 * `carry` characters of it, so a long value brings only its head (ending one text) and its tail
 * (starting the next). Texts of a single value were scanned already and are left out.
 */
function joinedChunks(values: readonly PlaceValue[], carry: number): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  const close = () => {
    if (current.length > 1) chunks.push(current.join(""));
  };
  for (const value of values) {
    if (value.length <= 2 * carry) {
      current.push(valueText(value));
      continue;
    }
    current.push(valueText(value, 0, carry));
    close();
    current = [valueText(value, value.length - carry)];
  }
  close();
  return chunks;
}

/** What matchSplit reads of a value: its first and last `length` characters. */
function headAndTail(value: PlaceValue, length: number): string {
  return value.length <= 2 * length
    ? valueText(value)
    : valueText(value, 0, length) + valueText(value, value.length - length);
}

function scanBody(
  matcher: TextMatcher,
  state: ScanState,
  body: ScanBody,
  /** The body's bytes after its declared content encoding. */
  bytes: Uint8Array,
): Located[] {
  const label = body.label ?? "body";
  const latin1 = () =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  const view = (input: Uint8Array | string) => scanView(matcher, state, input, label, ROOT_VIEW);

  if (looksLikeJson(body.contentType, bytes)) {
    // Without a backslash, JSON strings hold exactly their raw bytes: scan those directly.
    // With one, a decoding prefilter pass rules out most clean bodies before any decoding
    // (markers count as matches there, so nothing a transform would uncover is ruled out).
    let matches: Located[];
    if (!bytes.includes(BACKSLASH)) matches = view(bytes);
    else if (!matcher.mayMatchJson(bytes)) matches = [];
    else matches = view(unescapeJsonText(latin1()));
    if (matches.length === 0) return [];
    const raw = latin1();
    return matches.map((m) => {
      if (m.location !== label) return m;
      const path = locateInJson(raw, m.text);
      return path === undefined ? m : { ...m, location: `${label}.json:${path}` };
    });
  }
  const matches = view(bytes);
  if (isFormEncoded(body.contentType)) {
    const raw = latin1();
    if (/[%+]/.test(raw)) matches.push(...view(decodePercent(raw, true)));
    return matches.map((m) => {
      if (m.location !== label) return m;
      const field = locateInForm(raw, m.text);
      return field === undefined ? m : { ...m, location: `${label}.form:${field}` };
    });
  }
  return matches;
}

/**
 * Matches in `input`, and in what the transforms its markers call for make of it, each placed
 * at `location` with the transforms' names appended ("body~base64~gzip"). Long base64/hex
 * runs are decoded and their decodings scanned too (generic-runs.ts), and a binary blob that
 * is not a known format is tried as raw deflate (compressed-streams.ts).
 */
function scanView(
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
  const latin1 = () => {
    text ??= typeof input === "string" ? input : bytesToLatin1(input);
    return text;
  };
  const again = (next: Uint8Array | string, suffix: string, nextView: ViewState) =>
    found.push(...scanView(matcher, state, next, `${location}~${suffix}`, nextView));
  const inner: ViewState = {
    depth: view.depth + 1,
    chain: view.chain,
    stripped: false,
    utf16: false,
  };
  const decodedRun: ViewState = {
    depth: view.depth,
    chain: view.chain + 1,
    stripped: false,
    utf16: false,
  };
  const tooDeep = () =>
    new Unscannable("encoding", `encodings nested more than ${MAX_NESTING} deep`);
  const decoded = (bytes: Uint8Array, suffix: string) => {
    charge(state, bytes.length);
    again(bytes, suffix, inner);
    // A decoded JSON document with escapes: read as its reader would, too.
    if (bytes.includes(BACKSLASH) && looksLikeJson(undefined, bytes)) {
      again(unescapeJsonText(bytesToLatin1(bytes)), `${suffix}~json`, inner);
    }
  };

  // Binary streams are read from the bytes as sent: a view with its invisible characters taken
  // out is text made for reading, and cutting bytes out of a binary stream only makes noise
  // that a lenient decoder would take for more nesting. (A stream so cut is broken for every
  // reader, so nothing is hidden in it.)
  const binary = view.noStreams !== true;
  if (binary && typeof input !== "string" && mayBeRawDeflate(input)) {
    const inflated = decompressStream("deflate-raw", input, state.budget);
    // Only text counts: binary that happens to inflate a little is noise, not a stream.
    if (inflated.ok && looksLikeText(inflated.bytes)) {
      countAttempt(state);
      if (view.depth >= MAX_NESTING) throw tooDeep();
      decoded(inflated.bytes, "deflate");
    } else if (!inflated.ok && inflated.reason === "too-large") charge(state, state.budget + 1);
  }
  scanRuns(input, view, (bytes, suffix, text) => {
    charge(state, bytes.length);
    const before = found.length;
    // Binary decodings (images, hashes) are not read again as UTF-16 or without invisibles:
    // a known secret's UTF-16 base64 is a literal form already.
    again(bytes, suffix, text ? decodedRun : { ...decodedRun, stripped: true, utf16: true });
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
  if (hits.kinds.size === 0) return found;

  if (hits.kinds.has("invisible") && !view.stripped) {
    const stripped = stripInvisible(latin1());
    if (stripped.length !== latin1().length)
      again(stripped, "invisible", { ...view, stripped: true, noStreams: true });
  }
  if (hits.kinds.has("nul") && !view.utf16) {
    const utf16 = utf16Text(typeof input === "string" ? Buffer.from(input, "latin1") : input);
    if (utf16.length > 0) again(utf16, "utf-16", { ...view, utf16: true });
  }
  if (binary && (hits.kinds.has("zlib") || hits.kinds.has("bzip2"))) {
    const bytes = typeof input === "string" ? Buffer.from(input, "latin1") : input;
    for (const [kind, at] of streamStarts(latin1(), hits.kinds)) {
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
        again(head.bytes, `${kind}-head`, {
          ...inner,
          depth: view.depth,
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
        decoded(out.bytes, kind);
      } else if (out.reason === "too-large") charge(state, state.budget + 1);
    }
  }
  const rawGzip = binary && hits.kinds.has("gzip");
  const decodes = hits.kinds.has("mime") || rawGzip || hits.kinds.has("gzip-base64");
  if (!decodes) return found;
  if (view.depth >= MAX_NESTING) throw tooDeep();
  if (hits.kinds.has("mime")) {
    for (const part of transferEncodedParts(latin1())) decoded(part.bytes, part.encoding);
  }
  for (const [ends, base64, width] of [
    [rawGzip ? hits.gzipEnds : [], false, 3],
    [hits.gzipBase64Ends, true, 4],
  ] as const) {
    for (const end of ends) {
      if (++state.inflates > MAX_INFLATES) {
        throw new Unscannable("encoding", `more than ${MAX_INFLATES} embedded gzip streams`);
      }
      const source = base64 || typeof input === "string" ? latin1() : input;
      const inflated = inflateGzipAt(source, end - width, base64, state.budget);
      if (inflated.ok) decoded(inflated.bytes, base64 ? "base64~gzip" : "gzip");
      else if (inflated.reason === "too-large") charge(state, state.budget + 1);
      // A stream that is not gzip after all: the raw text above was scanned as it is.
    }
  }
  return found;
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

/** Compressed streams that decode per scan (false markers that fail at once are not counted). */
const MAX_STREAM_ATTEMPTS = 16384;

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

function charge(state: ScanState, bytes: number) {
  state.budget -= bytes;
  if (state.budget < 0) {
    throw new Unscannable("too-large", "nested encodings decode past the size limit");
  }
}

function bytesToLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** The text as sent, and percent-decoded when that differs. */
function decodedForms(text: string, plusAsSpace: boolean): string[] {
  if (!text.includes("%") && !(plusAsSpace && text.includes("+"))) return [text];
  const decoded = decodePercent(text, plusAsSpace);
  return decoded === text ? [text] : [text, decoded];
}

function toVerdict(found: Located[]): DlpVerdict {
  if (found.length === 0) return { status: "clean" };
  const values = found.map((f) => f.text);
  const seen = new Set<string>();
  const findings: DlpFinding[] = [];
  for (const f of found) {
    const location = sanitizeLocation(f.location, values);
    const key = `${f.ruleId}\0${location}\0${f.secretName ?? ""}\0${f.encoding ?? ""}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const finding: DlpFinding = {
      ruleId: f.ruleId,
      description: f.description,
      location,
      preview: f.preview,
    };
    if (f.secretName !== undefined) finding.secretName = f.secretName;
    if (f.encoding !== undefined) finding.encoding = f.encoding;
    findings.push(finding);
    if (findings.length >= MAX_FINDINGS) break;
  }
  return { status: "findings", findings };
}
