// The core match: one prefilter pass for every rule anchor, known-secret form and transform
// marker, then each triggered rule's regex over windows around its anchors (or over the whole
// text when anchors are many). The prefilter folds ASCII case, so a known secret is found
// lowercased, uppercased or in mixed case at no cost per byte; rule regexes keep their own
// case. Returns matched text to its caller (the scanner needs it to place and redact
// findings); the scanner must drop it before anything leaves the engine.
import { type CredentialRule, DEFAULT_WINDOW } from "./credential-rules.js";
import type { KnownSecret, SecretEncoding, SecretVariant } from "./known-secrets.js";
import { secretSpellings, secretVariants } from "./known-secrets.js";
import { LiteralAutomaton } from "./literal-automaton.js";
import type { Marker, MarkerKind } from "./normalise.js";

export interface RawMatch {
  ruleId: string;
  description: string;
  preview: string;
  /** The matched text (latin1). Internal only. */
  text: string;
  secretName?: string;
  encoding?: SecretEncoding;
}

type Literal =
  | { kind: "rule"; rule: number; length: number; anchor: Buffer }
  | { kind: "secret"; variant: number; prefixLength: number }
  | { kind: "marker"; marker: MarkerKind; text: string }
  | { kind: "piece" };

/**
 * Transform markers the prefilter saw in a text: kinds, and where (end offsets) for gzip; and
 * whether a piece of a known secret (PIECE_LENGTH characters of a piece form) occurred.
 */
export interface MarkerHits {
  kinds: Set<MarkerKind>;
  gzipEnds: number[];
  gzipBase64Ends: number[];
  piece: boolean;
}

export function noMarkerHits(): MarkerHits {
  return { kinds: new Set(), gzipEnds: [], gzipBase64Ends: [], piece: false };
}

/**
 * Known-secret forms enter the automaton by this long a prefix, then are compared in full. 10,
 * not more: a secret has a few hundred forms and the table grows by one row per prefix
 * character; 10 characters of a form still rarely occur by chance in clean text.
 */
const SECRET_PREFIX = 10;
/** Findings per rule per text: enough to place them, bounded for hostile inputs. */
const MAX_MATCHES_PER_RULE = 5;
/** Past this many anchor sightings a rule runs once over the whole text instead. */
const MAX_WINDOWS = 32;

export const KNOWN_SECRET_RULE_ID = "known-secret";

export class TextMatcher {
  readonly #rules: readonly CredentialRule[];
  readonly #patterns: readonly RegExp[];
  readonly #variants: readonly (SecretVariant & { bytes: Buffer })[];
  readonly #literals: readonly Literal[];
  readonly #automaton: LiteralAutomaton;
  /** The longest known-secret form, in bytes (0 without secrets). */
  readonly longestForm: number;
  /** Forms looked for cut between two values, lowercased, with their variants. */
  readonly #splitForms: readonly { lower: string; variant: SecretVariant }[];
  readonly #pieceFinder: PieceFinder;

  constructor(
    rules: readonly CredentialRule[],
    secrets: readonly KnownSecret[],
    markers: readonly Marker[] = [],
  ) {
    this.#rules = rules;
    this.#patterns = rules.map((r) => new RegExp(r.pattern.source, withGlobal(r.pattern.flags)));
    const seen = new Set<string>();
    this.#variants = secrets
      .flatMap((s) => [...secretVariants(s), ...secretSpellings(s)])
      .filter((v) => {
        // The prefilter folds case: forms that differ only in case are one literal.
        const key = `${v.secretName}\0${v.text.toLowerCase()}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .map((v) => ({ ...v, bytes: Buffer.from(v.text, "latin1") }));
    this.longestForm = this.#variants.reduce((n, v) => Math.max(n, v.bytes.length), 0);
    this.#splitForms = this.#variants
      .filter((v) => v.encoding === "verbatim" || v.encoding === "reversed")
      .map((variant) => ({ lower: variant.text.toLowerCase(), variant }));
    const literals: Literal[] = [];
    const texts: string[] = [];
    rules.forEach((rule, index) => {
      for (const anchor of rule.anchors) {
        literals.push({
          kind: "rule",
          rule: index,
          length: anchor.length,
          anchor: Buffer.from(anchor, "latin1"),
        });
        texts.push(anchor);
      }
    });
    this.#variants.forEach((variant, index) => {
      const prefixLength = Math.min(SECRET_PREFIX, variant.text.length);
      literals.push({ kind: "secret", variant: index, prefixLength });
      texts.push(variant.text.slice(0, prefixLength));
    });
    for (const marker of markers) {
      literals.push({ kind: "marker", marker: marker.kind, text: marker.text });
      texts.push(marker.text);
    }
    // The pieces' grams too, so that the one pass tells whether a request carries any: clean
    // traffic then never pays for the pieces' own pass (pieces()).
    this.#pieceFinder = pieceFinder(this.#variants);
    for (const gram of this.#pieceFinder.grams) {
      literals.push({ kind: "piece" });
      texts.push(gram);
    }
    this.#literals = literals;
    this.#automaton = new LiteralAutomaton(texts, { foldCase: true });
  }

  /** False only when nothing of interest occurs in the JSON-decoded view of `json`. */
  mayMatchJson(json: Uint8Array): boolean {
    return this.#automaton.anyInJson(json);
  }

  /**
   * @param input bytes, or a string of bytes as latin1
   * @param hits filled with the transform markers seen, when given
   */
  match(input: Uint8Array | string, hits?: MarkerHits): RawMatch[] {
    // Per rule: anchor [start, end) pairs, or null once there are too many to window.
    const sightings: (number[] | null | undefined)[] = new Array(this.#rules.length);
    let anyRule = false;
    const found: RawMatch[] = [];
    const foundVariants = new Set<number>();
    this.#automaton.scan(input, (index, end) => {
      const literal = this.#literals[index] as Literal;
      if (literal.kind === "rule") {
        // The prefilter folds case; anchors keep theirs.
        if (occursAt(input, literal.anchor, end - literal.length) !== "exact") return;
        anyRule = true;
        const seen = sightings[literal.rule];
        if (seen === undefined) sightings[literal.rule] = [end - literal.length, end];
        else if (seen !== null) {
          if (seen.length < 2 * MAX_WINDOWS) seen.push(end - literal.length, end);
          else sightings[literal.rule] = null;
        }
        return;
      }
      if (literal.kind === "marker") {
        if (hits !== undefined) recordMarker(hits, literal, input, end);
        return;
      }
      if (literal.kind === "piece") {
        if (hits !== undefined) hits.piece = true;
        return;
      }
      if (foundVariants.has(literal.variant)) return;
      const variant = this.#variants[literal.variant] as SecretVariant & { bytes: Buffer };
      const start = end - literal.prefixLength;
      const how = occursAt(input, variant.bytes, start);
      if (how === "no") return;
      foundVariants.add(literal.variant);
      found.push({
        ruleId: KNOWN_SECRET_RULE_ID,
        description: `the value of secret ${variant.secretName}`,
        preview: `…(${variant.text.length} chars)`,
        // As it occurs: the scanner compares matches with the values it must not show.
        text: how === "exact" ? variant.text : slice(input, start, variant.bytes.length),
        secretName: variant.secretName,
        encoding: how === "exact" ? variant.encoding : "case-changed",
      });
    });
    if (!anyRule) return found;
    const text = typeof input === "string" ? input : latin1(input);
    this.#rules.forEach((rule, index) => {
      const seen = sightings[index];
      if (seen === undefined) return;
      const windows = seen === null ? [0, text.length] : mergeWindows(seen, rule, text.length);
      found.push(...this.#runRule(rule, index, text, windows));
    });
    return found;
  }

  /**
   * Known secrets split between two of `values`: one ends with the start of a secret (any
   * case) and another starts with the rest, in whatever order the values came.
   */
  matchSplit(values: readonly string[]): RawMatch[] {
    if (values.length < 2 || this.#splitForms.length === 0) return [];
    const lower = values.map((v) => v.toLowerCase());
    const found: RawMatch[] = [];
    for (const { lower: form, variant } of this.#splitForms) {
      if (splitBetween(lower, form)) {
        found.push({
          ruleId: KNOWN_SECRET_RULE_ID,
          description: `the value of secret ${variant.secretName}`,
          preview: `…(${variant.text.length} chars)`,
          text: variant.text,
          secretName: variant.secretName,
          encoding: variant.encoding,
        });
      }
    }
    return found;
  }

  /**
   * Which characters of each known secret `values` carry as pieces: runs of at least
   * PIECE_LENGTH characters of the secret, of it reversed, of its hex, or of one of its
   * decimations (every 2nd or 3rd character from each start), in any case. Positions only,
   * never text: pipelock's sent-window joins these over the requests of a bottle.
   */
  pieces(values: readonly (string | Uint8Array)[]): SecretPieces[] {
    const finder = this.#pieceFinder;
    if (finder.grams.length === 0) return [];
    const covered = new Map<string, Uint8Array>();
    for (const value of values) {
      finder.automaton.scan(value, (index) => {
        for (const at of finder.literals[index] as PieceAt[]) {
          let marks = covered.get(at.secretName);
          if (marks === undefined) {
            marks = new Uint8Array(at.length);
            covered.set(at.secretName, marks);
          }
          for (let i = 0; i < at.gram; i++) marks[at.position(at.offset + i)] = 1;
        }
      });
    }
    return [...covered].map(([secretName, marks]) => ({
      secretName,
      length: marks.length,
      ranges: toRanges(marks),
    }));
  }

  #runRule(rule: CredentialRule, index: number, text: string, windows: number[]): RawMatch[] {
    const pattern = this.#patterns[index] as RegExp;
    const out: RawMatch[] = [];
    let lastEnd = -1;
    for (let w = 0; w < windows.length && out.length < MAX_MATCHES_PER_RULE; w += 2) {
      const from = windows[w] as number;
      // A slice is O(1) in V8 and keeps the regex from running past the window.
      const slice = text.slice(from, windows[w + 1]);
      pattern.lastIndex = 0;
      for (let m = pattern.exec(slice); m !== null; m = pattern.exec(slice)) {
        const value = m[0];
        if (value.length === 0) {
          pattern.lastIndex += 1;
          continue;
        }
        if (from + m.index < lastEnd || rule.ignore?.(value)) continue;
        lastEnd = from + m.index + value.length;
        out.push({
          ruleId: rule.id,
          description: rule.description,
          preview: `${value.slice(0, rule.previewChars)}…(${value.length} chars)`,
          text: value,
        });
        if (out.length >= MAX_MATCHES_PER_RULE) break;
      }
    }
    pattern.lastIndex = 0;
    return out;
  }
}

/** Characters of a known secret a request carried: [start, end) pairs, in order. */
export interface SecretPieces {
  secretName: string;
  /** The secret's length in bytes. */
  length: number;
  ranges: number[];
}

/** A piece counts from this many characters of a form (hex: twice as many, one per nibble). */
export const PIECE_LENGTH = 8;

interface PieceAt {
  secretName: string;
  length: number;
  gram: number;
  offset: number;
  position: (i: number) => number;
}

interface PieceFinder {
  /** Every piece form's runs of its gram length, lowercased, each once. */
  grams: readonly string[];
  /** Over `grams`, built when first needed: most requests carry no piece. */
  readonly automaton: LiteralAutomaton;
  /** Per gram, where its characters sit in which secret. */
  literals: readonly PieceAt[][];
}

function pieceFinder(variants: readonly SecretVariant[]): PieceFinder {
  const byText = new Map<string, PieceAt[]>();
  const secrets = new Map<string, string>();
  for (const v of variants) if (v.encoding === "verbatim") secrets.set(v.secretName, v.text);
  for (const [secretName, text] of secrets) {
    for (const form of pieceForms(text)) {
      for (let offset = 0; offset + form.gram <= form.text.length; offset++) {
        const gram = form.text.slice(offset, offset + form.gram).toLowerCase();
        const at: PieceAt = {
          secretName,
          length: text.length,
          gram: form.gram,
          offset,
          position: form.position,
        };
        const list = byText.get(gram);
        if (list === undefined) byText.set(gram, [at]);
        else list.push(at);
      }
    }
  }
  const grams = [...byText.keys()];
  let automaton: LiteralAutomaton | undefined;
  return {
    grams,
    get automaton() {
      automaton ??= new LiteralAutomaton(grams, { foldCase: true });
      return automaton;
    },
    literals: grams.map((t) => byText.get(t) as PieceAt[]),
  };
}

/** The forms whose runs count as pieces, each with where its characters sit in the secret. */
function pieceForms(
  secret: string,
): { text: string; gram: number; position: (i: number) => number }[] {
  const n = secret.length;
  const forms = [
    { text: secret, gram: PIECE_LENGTH, position: (i: number) => i },
    {
      text: [...secret].reverse().join(""),
      gram: PIECE_LENGTH,
      position: (i: number) => n - 1 - i,
    },
    {
      text: Buffer.from(secret, "latin1").toString("hex"),
      gram: 2 * PIECE_LENGTH,
      position: (i: number) => i >> 1,
    },
  ];
  for (const step of [2, 3]) {
    for (let phase = 0; phase < step; phase++) {
      let text = "";
      for (let i = phase; i < n; i += step) text += secret[i];
      forms.push({ text, gram: PIECE_LENGTH, position: (i: number) => phase + step * i });
    }
  }
  return forms.filter((f) => f.text.length >= f.gram);
}

function toRanges(marks: Uint8Array): number[] {
  const ranges: number[] = [];
  for (let i = 0; i < marks.length; i++) {
    if (marks[i] === 0) continue;
    const start = i;
    while (i < marks.length && marks[i] === 1) i++;
    ranges.push(start, i);
  }
  return ranges;
}

function splitBetween(values: readonly string[], form: string): boolean {
  const first = form[0] as string;
  for (let a = 0; a < values.length; a++) {
    const head = values[a] as string;
    // Each place in head's tail where the form could start and run to head's end.
    let at = head.indexOf(first, Math.max(0, head.length - form.length + 1));
    for (; at !== -1; at = head.indexOf(first, at + 1)) {
      const k = head.length - at;
      if (!form.startsWith(head.slice(at), 0)) continue;
      const rest = form.slice(k);
      for (let b = 0; b < values.length; b++) {
        if (b !== a && (values[b] as string).startsWith(rest)) return true;
      }
    }
  }
  return false;
}

/** Anchor [start, end) pairs in text order → merged [from, to) windows around them. */
function mergeWindows(sightings: number[], rule: CredentialRule, length: number): number[] {
  const { before, after } = rule.window ?? DEFAULT_WINDOW;
  const merged: number[] = [];
  for (let i = 0; i < sightings.length; i += 2) {
    const from = Math.max(0, (sightings[i] as number) - before);
    const to = Math.min(length, (sightings[i + 1] as number) + after);
    const last = merged.length - 1;
    if (last > 0 && from <= (merged[last] as number))
      merged[last] = Math.max(to, merged[last] as number);
    else merged.push(from, to);
  }
  return merged;
}

/** Whether `form` occurs at `start`: byte for byte, with ASCII letters in another case, or not. */
function occursAt(
  input: Uint8Array | string,
  form: Buffer,
  start: number,
): "exact" | "case-changed" | "no" {
  if (start < 0 || start + form.length > input.length) return "no";
  let exact = true;
  const isString = typeof input === "string";
  for (let i = 0; i < form.length; i++) {
    const a = isString ? input.charCodeAt(start + i) : (input[start + i] as number);
    const b = form[i] as number;
    if (a === b) continue;
    if (foldAscii(a) !== foldAscii(b)) return "no";
    exact = false;
  }
  return exact ? "exact" : "case-changed";
}

function foldAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

function slice(input: Uint8Array | string, start: number, length: number): string {
  return typeof input === "string"
    ? input.slice(start, start + length)
    : latin1(input.subarray(start, start + length));
}

/** Markers match case-insensitively; a gzip magic only counts spelled exactly. */
function recordMarker(
  hits: MarkerHits,
  marker: { marker: MarkerKind; text: string },
  input: Uint8Array | string,
  end: number,
) {
  if (marker.marker === "gzip" || marker.marker === "gzip-base64") {
    const start = end - marker.text.length;
    if (slice(input, start, marker.text.length) !== marker.text) return;
    (marker.marker === "gzip" ? hits.gzipEnds : hits.gzipBase64Ends).push(end);
  }
  hits.kinds.add(marker.marker);
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

function withGlobal(flags: string): string {
  return flags.includes("g") ? flags : `${flags}g`;
}
