// The DLP prefilter: one pass over the input that finds every occurrence of a set of literals
// (rule anchors and known-secret fragments), case-sensitively. An Aho-Corasick automaton
// compiled to a dense table over byte classes: a clean body costs one table lookup per byte,
// and no regular expression runs unless one of its anchors occurs.

/** Called with the literal's index and the offset just past its last character. */
export type LiteralMatchHandler = (literal: number, end: number) => void;

export class LiteralAutomaton {
  /** Byte (or char code < 65536) → class; 0 for characters no literal contains. */
  readonly #classOf: Uint8Array;
  readonly #classCount: number;
  /** state*classCount + class → next state*classCount, as -(next*classCount) - 1 when it accepts. */
  readonly #table: Int32Array;
  readonly #outputs: readonly (readonly number[])[];

  /**
   * @param literals non-empty strings of characters below 256 (bytes as latin1)
   * @param options.foldCase ASCII letters match in either case: one class for "a" and "A", so
   *   it costs nothing per byte
   */
  constructor(literals: readonly string[], options: { foldCase?: boolean } = {}) {
    const classOf = new Uint8Array(65536);
    const fold = options.foldCase === true;
    let classCount = 1;
    for (const literal of literals) {
      for (let i = 0; i < literal.length; i++) {
        let c = literal.charCodeAt(i);
        if (c > 255) throw new Error("literals must be latin1 strings");
        if (fold && c >= 0x41 && c <= 0x5a) c += 0x20;
        if (classOf[c] === 0) classOf[c] = classCount++;
      }
    }
    if (classCount > 255) throw new Error("too many distinct characters in literals");
    if (fold) for (let c = 0x41; c <= 0x5a; c++) classOf[c] = classOf[c + 0x20] as number;
    this.#classOf = classOf;
    this.#classCount = classCount;

    // Trie over classes, in one flat array (a row of classCount per state): known secrets bring
    // thousands of literals, and an array per state made building take seconds.
    let capacity = 1;
    for (const literal of literals) capacity += literal.length;
    const goto = new Int32Array(capacity * classCount).fill(-1);
    const outputs: number[][] = [[]];
    literals.forEach((literal, index) => {
      if (literal.length === 0) throw new Error("literals must not be empty");
      let state = 0;
      for (let i = 0; i < literal.length; i++) {
        const at = state * classCount + (classOf[literal.charCodeAt(i)] ?? 0);
        if (goto[at] === -1) {
          goto[at] = outputs.length;
          outputs.push([]);
        }
        state = goto[at] as number;
      }
      (outputs[state] as number[]).push(index);
    });
    const stateCount = outputs.length;

    // Failure links, breadth first, folded into a complete transition table.
    const fail = new Int32Array(stateCount);
    const queue = new Int32Array(stateCount);
    let tail = 0;
    for (let k = 0; k < classCount; k++) {
      const next = goto[k] as number;
      if (next === -1) goto[k] = 0;
      else queue[tail++] = next;
    }
    for (let head = 0; head < tail; head++) {
      const state = queue[head] as number;
      const row = state * classCount;
      const failRow = (fail[state] as number) * classCount;
      for (let k = 0; k < classCount; k++) {
        const next = goto[row + k] as number;
        if (next === -1) {
          goto[row + k] = goto[failRow + k] as number;
        } else {
          fail[next] = goto[failRow + k] as number;
          const inherited = outputs[fail[next] as number] as number[];
          if (inherited.length > 0) outputs[next] = [...(outputs[next] as number[]), ...inherited];
          queue[tail++] = next;
        }
      }
    }

    // In place: next state → its row's offset, negative (-offset - 1) when it accepts.
    const table =
      goto.length === stateCount * classCount ? goto : goto.slice(0, stateCount * classCount);
    for (let i = 0; i < table.length; i++) {
      const next = table[i] as number;
      const base = next * classCount;
      table[i] = (outputs[next] as number[]).length > 0 ? -base - 1 : base;
    }
    this.#table = table;
    this.#outputs = outputs;
  }

  get stateCount(): number {
    return this.#outputs.length;
  }

  /** Reports every occurrence, overlapping ones included. */
  scan(input: Uint8Array | string, onMatch: LiteralMatchHandler): void {
    const table = this.#table;
    const classOf = this.#classOf;
    let state = 0;
    if (typeof input === "string") {
      for (let i = 0; i < input.length; i++) {
        state = table[state + (classOf[input.charCodeAt(i)] as number)] as number;
        if (state < 0) state = this.#emit(state, i + 1, onMatch);
      }
    } else {
      for (let i = 0; i < input.length; i++) {
        state = table[state + (classOf[input[i] as number] as number)] as number;
        if (state < 0) state = this.#emit(state, i + 1, onMatch);
      }
    }
  }

  /**
   * Whether any literal occurs in `json` once its string escapes are decoded, without building
   * the decoded text: clean JSON bodies with escapes then cost one pass too. Answers true when
   * it cannot tell cheaply (a non-ASCII \\u escape), so the caller falls back to a full decode.
   */
  anyInJson(json: Uint8Array): boolean {
    const table = this.#table;
    const classOf = this.#classOf;
    let state = 0;
    const length = json.length;
    for (let i = 0; i < length; i++) {
      let b = json[i] as number;
      if (b === BACKSLASH && i + 1 < length) {
        const c = json[++i] as number;
        if (c === 0x75) {
          const unit = hex4(json, i + 1);
          if (unit < 0 || unit >= 0x80) return true;
          b = unit;
          i += 4;
        } else {
          b = JSON_ESCAPES[c] ?? c;
        }
      }
      state = table[state + (classOf[b] as number)] as number;
      if (state < 0) return true;
    }
    return false;
  }

  #emit(encoded: number, end: number, onMatch: LiteralMatchHandler): number {
    const base = -encoded - 1;
    for (const literal of this.#outputs[base / this.#classCount] as number[]) onMatch(literal, end);
    return base;
  }
}

const BACKSLASH = 0x5c;
/** \\b \\f \\n \\r \\t by the byte after the backslash; others stand for themselves. */
const JSON_ESCAPES: Record<number, number> = { 98: 8, 102: 12, 110: 10, 114: 13, 116: 9 };

function hex4(bytes: Uint8Array, at: number): number {
  let value = 0;
  for (let k = at; k < at + 4; k++) {
    const d = hexDigit(bytes[k]);
    if (d < 0) return -1;
    value = value * 16 + d;
  }
  return value;
}

function hexDigit(b: number | undefined): number {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}
