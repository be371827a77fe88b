// The core match: one prefilter pass for every rule anchor and known-secret form, then each
// triggered rule's regex over windows around its anchors (or over the whole text when anchors
// are many). Returns matched text to its caller (the scanner needs it to place
// and redact findings); the scanner must drop it before anything leaves the engine.
import { type CredentialRule, DEFAULT_WINDOW } from "./credential-rules.js";
import type { KnownSecret, SecretEncoding, SecretVariant } from "./known-secrets.js";
import { secretVariants } from "./known-secrets.js";
import { LiteralAutomaton } from "./literal-automaton.js";

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
  | { kind: "rule"; rule: number; length: number }
  | { kind: "secret"; variant: number; prefixLength: number };

/** Known-secret forms enter the automaton by this long a prefix, then are compared in full. */
const SECRET_PREFIX = 16;
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

  constructor(rules: readonly CredentialRule[], secrets: readonly KnownSecret[]) {
    this.#rules = rules;
    this.#patterns = rules.map((r) => new RegExp(r.pattern.source, withGlobal(r.pattern.flags)));
    this.#variants = secrets
      .flatMap((s) => secretVariants(s))
      .map((v) => ({ ...v, bytes: Buffer.from(v.text, "latin1") }));
    const literals: Literal[] = [];
    const texts: string[] = [];
    rules.forEach((rule, index) => {
      for (const anchor of rule.anchors) {
        literals.push({ kind: "rule", rule: index, length: anchor.length });
        texts.push(anchor);
      }
    });
    this.#variants.forEach((variant, index) => {
      const prefixLength = Math.min(SECRET_PREFIX, variant.text.length);
      literals.push({ kind: "secret", variant: index, prefixLength });
      texts.push(variant.text.slice(0, prefixLength));
    });
    this.#literals = literals;
    this.#automaton = new LiteralAutomaton(texts);
  }

  /** False only when nothing of interest occurs in the JSON-decoded view of `json`. */
  mayMatchJson(json: Uint8Array): boolean {
    return this.#automaton.anyInJson(json);
  }

  /** @param input bytes, or a string of bytes as latin1 */
  match(input: Uint8Array | string): RawMatch[] {
    // Per rule: anchor [start, end) pairs, or null once there are too many to window.
    const sightings: (number[] | null | undefined)[] = new Array(this.#rules.length);
    let anyRule = false;
    const found: RawMatch[] = [];
    const foundVariants = new Set<number>();
    this.#automaton.scan(input, (index, end) => {
      const literal = this.#literals[index] as Literal;
      if (literal.kind === "rule") {
        anyRule = true;
        const seen = sightings[literal.rule];
        if (seen === undefined) sightings[literal.rule] = [end - literal.length, end];
        else if (seen !== null) {
          if (seen.length < 2 * MAX_WINDOWS) seen.push(end - literal.length, end);
          else sightings[literal.rule] = null;
        }
        return;
      }
      if (foundVariants.has(literal.variant)) return;
      const variant = this.#variants[literal.variant] as SecretVariant & { bytes: Buffer };
      if (!occursAt(input, variant, end - literal.prefixLength)) return;
      foundVariants.add(literal.variant);
      found.push({
        ruleId: KNOWN_SECRET_RULE_ID,
        description: `the value of secret ${variant.secretName}`,
        preview: `…(${variant.text.length} chars)`,
        text: variant.text,
        secretName: variant.secretName,
        encoding: variant.encoding,
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

function occursAt(
  input: Uint8Array | string,
  variant: { text: string; bytes: Buffer },
  start: number,
) {
  if (start < 0) return false;
  if (typeof input === "string") return input.startsWith(variant.text, start);
  if (start + variant.bytes.length > input.length) return false;
  for (let i = 0; i < variant.bytes.length; i++) {
    if (input[start + i] !== variant.bytes[i]) return false;
  }
  return true;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

function withGlobal(flags: string): string {
  return flags.includes("g") ? flags : `${flags}g`;
}
