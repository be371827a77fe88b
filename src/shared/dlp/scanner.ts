// The DLP engine: looks for credentials and the bottle's own secrets in everything a request
// carries (host, path, query, headers one by one and all together, body after decoding) and
// says where it found them. What it scans it also normalises where a marker says so (see
// scan-view.ts), nested up to MAX_NESTING decodes within the decoded-bytes budget; past either
// the verdict is "unscannable", never a skip. The raw text is always scanned as well.
// It must never return, log or throw a matched value.
import {
  decodeContentEncoding,
  decodePercent,
  isFormEncoded,
  looksLikeJson,
  unescapeJsonText,
} from "./body-decoding.js";
import { CREDENTIAL_RULES, type CredentialRule } from "./credential-rules.js";
import { type KnownSecret, MIN_SECRET_LENGTH } from "./known-secrets.js";
import { locateInForm, locateInJson, sanitizeLocation } from "./locate-finding.js";
import { MARKERS } from "./normalise.js";
import { MAX_PLACE_VALUES, type PlaceValue, placeValues, valueText } from "./place-values.js";
import type { DlpFinding, DlpVerdict, ScanBody, ScanTarget } from "./scan-types.js";
import {
  bytesToLatin1,
  charge,
  type Located,
  ROOT_VIEW,
  type ScanState,
  scanView,
  Unscannable,
} from "./scan-view.js";
import { type SecretPieces, TextMatcher } from "./text-matcher.js";

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

const MAX_FINDINGS = 50;
const BACKSLASH = 0x5c;
/** A credential match is at most this long (a PEM block's start, a long token). */
const CREDENTIAL_CARRY = 4096;

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
      let scanned: { found: Located[]; pieces: SecretPieces[] };
      try {
        scanned = scanTarget(matcher, state, target, carry, maxDecodedBytes);
      } catch (error) {
        if (error instanceof Unscannable) {
          return { status: "unscannable", reason: error.reason, detail: error.detail };
        }
        throw error;
      }
      const { found, pieces } = scanned;
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

type ViewScanner = (input: Uint8Array | string, location: string) => Located[];

/** Every place of the request, then its values joined; throws Unscannable past a bound. */
function scanTarget(
  matcher: TextMatcher,
  state: ScanState,
  target: ScanTarget,
  carry: number,
  maxDecodedBytes: number,
): { found: Located[]; pieces: SecretPieces[] } {
  const view: ViewScanner = (input, location) =>
    scanView(matcher, state, input, location, ROOT_VIEW);
  const found: Located[] = [];
  if (target.host !== undefined) found.push(...view(target.host, "host"));
  if (target.path !== undefined) {
    for (const text of decodedForms(target.path, false)) found.push(...view(text, "path"));
  }
  if (target.query !== undefined) {
    for (const text of decodedForms(target.query, true)) found.push(...view(text, "query"));
  }
  const headers = [...(target.headers ?? [])];
  found.push(...scanHeaders(matcher, view, headers));
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
  // Every place's values in order, as one text: a secret cut between two form fields, two JSON
  // members, two path segments, a header and the body ... is whole there; and two pieces of a
  // known secret in any two values, in either order.
  const places = placeValues({ path: target.path, query: target.query, headers, body });
  if (!places.ok) {
    throw new Unscannable(
      "encoding",
      `more than ${MAX_PLACE_VALUES} values (path segments, parameters, fields, members) to join`,
    );
  }
  if (places.values.length > 1) {
    const joined = scanJoined(matcher, state, view, places.values, carry);
    found.push(
      ...joined.filter((m) => !found.some((f) => f.ruleId === m.ruleId && f.text === m.text)),
    );
  }
  // Every value lies whole in a view scanned above (the path, query and headers as sent and
  // decoded, the body as its reader decodes it), so no piece there means none here.
  const pieces = state.piece === true ? matcher.pieces(places.values) : [];
  return { found, pieces };
}

/**
 * Each header as sent and percent-decoded; then a value cut in pieces, one per header:
 * adjacent pieces in the joined values, two pieces of a known secret in any two headers; each
 * only if no one header held it.
 */
function scanHeaders(
  matcher: TextMatcher,
  view: ViewScanner,
  headers: readonly (readonly [name: string, value: string])[],
): Located[] {
  const values: string[] = [];
  const inHeaders: Located[] = [];
  for (const [name, value] of headers) {
    const location = `header:${name.toLowerCase()}`;
    for (const text of decodedForms(`${name}: ${value}`, false)) {
      inHeaders.push(...view(text, location));
    }
    values.push(value);
  }
  if (values.length < 2) return inHeaders;
  const across = [
    ...view(values.join(""), "headers"),
    ...matcher.matchSplit(values).map((m) => ({ ...m, location: "headers" })),
  ];
  return [
    ...inHeaders,
    ...across.filter((m) => !inHeaders.some((h) => h.ruleId === m.ruleId && h.text === m.text)),
  ];
}

/** The values joined (see joinedChunks), and pieces of a known secret in any two of them. */
function scanJoined(
  matcher: TextMatcher,
  state: ScanState,
  view: ViewScanner,
  values: readonly PlaceValue[],
  carry: number,
): Located[] {
  const joined: Located[] = [];
  for (const chunk of joinedChunks(values, carry)) {
    if (chunk.length > state.budget) {
      throw new Unscannable("too-large", "the request's values, joined, pass the size limit");
    }
    charge(state, chunk.length);
    joined.push(...view(chunk, "joined"));
  }
  const ends = values.map((v) => headAndTail(v, matcher.longestForm));
  joined.push(...matcher.matchSplit(ends).map((m) => ({ ...m, location: "joined" })));
  return joined;
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
  const latin1 = () => bytesToLatin1(bytes);
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
