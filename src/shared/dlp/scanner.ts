// The DLP engine: looks for credentials and the bottle's own secrets in everything a request
// carries (host, path, query, headers, body after decoding) and says where it found them.
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
import type { DlpFinding, DlpVerdict, ScanBody, ScanTarget } from "./scan-types.js";
import { type RawMatch, TextMatcher } from "./text-matcher.js";

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
}

interface Located extends RawMatch {
  location: string;
}

const MAX_FINDINGS = 50;
const BACKSLASH = 0x5c;

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
  const matcher = new TextMatcher(options.rules ?? CREDENTIAL_RULES, secrets);
  const latin1Values = new Map(
    secrets.map((s) => [s.name, Buffer.from(s.value, "utf8").toString("latin1")] as const),
  );
  const maxDecodedBytes = options.maxDecodedBytes ?? 40 * 1024 * 1024;

  return {
    skippedSecrets,
    scan(target, scanOptions = {}) {
      const found: Located[] = [];
      const add = (matches: RawMatch[], location: (m: RawMatch) => string) => {
        for (const m of matches) found.push({ ...m, location: location(m) });
      };
      if (target.host !== undefined) add(matcher.match(target.host), () => "host");
      if (target.path !== undefined) {
        for (const text of decodedForms(target.path, false)) add(matcher.match(text), () => "path");
      }
      if (target.query !== undefined) {
        for (const text of decodedForms(target.query, true))
          add(matcher.match(text), () => "query");
      }
      for (const [name, value] of target.headers ?? []) {
        const location = `header:${name.toLowerCase()}`;
        for (const text of decodedForms(`${name}: ${value}`, false)) {
          add(matcher.match(text), () => location);
        }
      }
      if (target.body !== undefined && target.body.bytes.length > 0) {
        const body = scanBody(matcher, target.body, maxDecodedBytes);
        if ("status" in body) return body;
        found.push(...body);
      }
      const allowed = scanOptions.allowedSecrets;
      if (allowed === undefined || allowed.size === 0) return toVerdict(found);
      const allowedValues = [...allowed].flatMap((name) => latin1Values.get(name) ?? []);
      return toVerdict(
        found.filter(
          (f) =>
            !(f.secretName !== undefined && allowed.has(f.secretName)) &&
            !allowedValues.some((v) => v.includes(f.text) || f.text.includes(v)),
        ),
      );
    },
  };
}

function scanBody(
  matcher: TextMatcher,
  body: ScanBody,
  maxDecodedBytes: number,
): Located[] | Extract<DlpVerdict, { status: "unscannable" }> {
  const label = body.label ?? "body";
  const decoded = decodeContentEncoding(body.bytes, body.contentEncoding, maxDecodedBytes);
  if (!decoded.ok) return { status: "unscannable", reason: decoded.reason, detail: decoded.detail };
  const bytes = decoded.bytes;
  const latin1 = () =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");

  if (looksLikeJson(body.contentType, bytes)) {
    // Without a backslash, JSON strings hold exactly their raw bytes: scan those directly.
    // With one, a decoding prefilter pass rules out most clean bodies before any decoding.
    let matches: RawMatch[];
    if (!bytes.includes(BACKSLASH)) matches = matcher.match(bytes);
    else if (!matcher.mayMatchJson(bytes)) matches = [];
    else matches = matcher.match(unescapeJsonText(latin1()));
    if (matches.length === 0) return [];
    const raw = latin1();
    return matches.map((m) => {
      const path = locateInJson(raw, m.text);
      return { ...m, location: path === undefined ? label : `${label}.json:${path}` };
    });
  }
  const matches = matcher.match(bytes);
  if (isFormEncoded(body.contentType)) {
    const raw = latin1();
    if (/[%+]/.test(raw)) matches.push(...matcher.match(decodePercent(raw, true)));
    return matches.map((m) => {
      const field = locateInForm(raw, m.text);
      return { ...m, location: field === undefined ? label : `${label}.form:${field}` };
    });
  }
  return matches.map((m) => ({ ...m, location: label }));
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
