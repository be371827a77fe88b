// The DLP prefilter: one pass over the input that finds every occurrence of a set of literals
// (rule anchors and known-secret fragments), case-sensitively. An Aho-Corasick automaton
// compiled to a dense table indexed by state and byte: a clean body costs one table lookup per
// byte, and no regular expression runs unless one of its anchors occurs.

/** Called with the literal's index and the offset just past its last character. */
export type LiteralMatchHandler = (literal: number, end: number) => void;

/** States past this need 32-bit table entries; below it, 16 bits halve the table. */
const NARROW_STATES = 0x10000;

export class LiteralAutomaton {
  /**
   * Char code → the byte its column is read at: itself below 256, above it a byte no literal
   * holds (no literal holds such a character, so they all move alike).
   */
  readonly #byteOf: Uint8Array;
  /**
   * (state << 8 | byte) → next state. States are numbered so that the accepting ones come
   * last, from #acceptFrom: the hot loop is a shift, a load and one compare per byte.
   */
  readonly #table: Uint16Array | Uint32Array;
  readonly #acceptFrom: number;
  readonly #outputs: readonly (readonly number[])[];

  /**
   * @param literals non-empty strings of characters below 256 (bytes as latin1)
   * @param options.foldCase ASCII letters match in either case, at no cost per byte
   */
  constructor(literals: readonly string[], options: { foldCase?: boolean } = {}) {
    const classes = characterClasses(literals, options.foldCase === true);
    const byteOf = new Uint8Array(65536).fill(classes.classOf.indexOf(0));
    for (let c = 0; c < 256; c++) byteOf[c] = c;
    this.#byteOf = byteOf;
    const trie = buildTrie(literals, classes);
    const compiled = byteTable(trie, classes.classOf);
    this.#table = compiled.table;
    this.#acceptFrom = compiled.acceptFrom;
    this.#outputs = compiled.outputs;
  }

  get stateCount(): number {
    return this.#outputs.length;
  }

  /** Reports every occurrence, overlapping ones included. */
  scan(input: Uint8Array | string, onMatch: LiteralMatchHandler): void {
    const table = this.#table;
    const acceptFrom = this.#acceptFrom;
    let state = 0;
    if (typeof input === "string") {
      const byteOf = this.#byteOf;
      for (let i = 0; i < input.length; i++) {
        state = table[(state << 8) | (byteOf[input.charCodeAt(i)] as number)] as number;
        if (state >= acceptFrom) this.#emit(state, i + 1, onMatch);
      }
    } else {
      for (let i = 0; i < input.length; i++) {
        state = table[(state << 8) | (input[i] as number)] as number;
        if (state >= acceptFrom) this.#emit(state, i + 1, onMatch);
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
    const acceptFrom = this.#acceptFrom;
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
      state = table[(state << 8) | b] as number;
      if (state >= acceptFrom) return true;
    }
    return false;
  }

  #emit(state: number, end: number, onMatch: LiteralMatchHandler): void {
    for (const literal of this.#outputs[state] as number[]) onMatch(literal, end);
  }
}

interface Classes {
  /** Byte → class; 0 for the bytes no literal holds (there is at least one). */
  classOf: Uint8Array;
  classCount: number;
}

/**
 * The automaton is built over classes of the characters the literals hold (a trie row per
 * state of all 256 bytes would take seconds to fill for thousands of literals), then spread to
 * bytes. With `fold`, "a" and "A" are one class.
 */
function characterClasses(literals: readonly string[], fold: boolean): Classes {
  const classOf = new Uint8Array(256);
  let classCount = 1;
  for (const literal of literals) {
    for (let i = 0; i < literal.length; i++) {
      let c = literal.charCodeAt(i);
      if (c > 255) throw new Error("literals must be latin1 strings");
      if (fold && c >= 0x41 && c <= 0x5a) c += 0x20;
      if (classOf[c] !== 0) continue;
      // Class 0 is for the bytes no literal holds; there must be one, for other characters.
      if (classCount === 256) throw new Error("literals must leave at least one byte unused");
      classOf[c] = classCount++;
    }
  }
  if (fold) for (let c = 0x41; c <= 0x5a; c++) classOf[c] = classOf[c + 0x20] as number;
  return { classOf, classCount };
}

interface Trie {
  /** Per state: its children, the class of the edge into it, its failure state, its literals. */
  children: number[][];
  edgeClass: number[];
  fail: Int32Array;
  outputs: number[][];
  /** Every state but the start, breadth first: failure states come before theirs. */
  order: Int32Array;
}

/** The literals' trie with Aho-Corasick failure links and inherited outputs. */
function buildTrie(literals: readonly string[], { classOf, classCount }: Classes): Trie {
  // Edges by state * classCount + class: a dense array would be mostly empty, and touching its
  // pages costs more than the lookups.
  const edges = new Map<number, number>();
  const children: number[][] = [[]];
  const edgeClass: number[] = [0];
  const outputs: number[][] = [[]];
  literals.forEach((literal, index) => {
    if (literal.length === 0) throw new Error("literals must not be empty");
    let state = 0;
    for (let i = 0; i < literal.length; i++) {
      const k = classOf[literal.charCodeAt(i)] as number;
      const at = state * classCount + k;
      let to = edges.get(at);
      if (to === undefined) {
        to = outputs.length;
        edges.set(at, to);
        (children[state] as number[]).push(to);
        children.push([]);
        edgeClass.push(k);
        outputs.push([]);
      }
      state = to;
    }
    (outputs[state] as number[]).push(index);
  });

  // Breadth first: a child's failure state is where its parent's failure chain first has an
  // edge of the child's class (the start state's children fail to it).
  const fail = new Int32Array(outputs.length);
  const order = new Int32Array(outputs.length - 1);
  let tail = 0;
  for (const child of children[0] as number[]) order[tail++] = child;
  for (let head = 0; head < tail; head++) {
    const state = order[head] as number;
    for (const child of children[state] as number[]) {
      const k = edgeClass[child] as number;
      let f = fail[state] as number;
      let to = edges.get(f * classCount + k);
      while (to === undefined && f !== 0) {
        f = fail[f] as number;
        to = edges.get(f * classCount + k);
      }
      fail[child] = to ?? 0;
      const inherited = outputs[fail[child] as number] as number[];
      if (inherited.length > 0) outputs[child] = [...(outputs[child] as number[]), ...inherited];
      order[tail++] = child;
    }
  }
  return { children, edgeClass, fail, outputs, order };
}

/**
 * The complete table over bytes, states renumbered with the accepting ones last (the start
 * state accepts nothing, literals being non-empty, so it stays 0).
 */
function byteTable(
  { children, edgeClass, fail, outputs, order }: Trie,
  classOf: Uint8Array,
): { table: Uint16Array | Uint32Array; acceptFrom: number; outputs: number[][] } {
  const stateCount = outputs.length;
  const numbered: number[] = [];
  for (let s = 0; s < stateCount; s++) if ((outputs[s] as number[]).length === 0) numbered.push(s);
  const acceptFrom = numbered.length;
  for (let s = 0; s < stateCount; s++) if ((outputs[s] as number[]).length > 0) numbered.push(s);
  const renamed = new Int32Array(stateCount);
  numbered.forEach((old, now) => {
    renamed[old] = now;
  });
  const table =
    stateCount <= NARROW_STATES
      ? new Uint16Array(stateCount * 256)
      : new Uint32Array(stateCount * 256);
  const bytesOf: number[][] = Array.from({ length: Math.max(...classOf) + 1 }, () => []);
  for (let b = 0; b < 256; b++) (bytesOf[classOf[b] as number] as number[]).push(b);
  // A state moves as its failure state does, except along its own trie edges: its row is that
  // row (already spread: failure states come first in `order`) with its children written over
  // it. The start state's row goes to its children or to itself.
  const withChildren = (state: number, out: number) => {
    for (const child of children[state] as number[]) {
      const to = renamed[child] as number;
      for (const b of bytesOf[edgeClass[child] as number] as number[]) table[out + b] = to;
    }
  };
  withChildren(0, 0);
  for (const state of order) {
    const out = (renamed[state] as number) * 256;
    const from = (renamed[fail[state] as number] as number) * 256;
    table.copyWithin(out, from, from + 256);
    withChildren(state, out);
  }
  return { table, acceptFrom, outputs: numbered.map((old) => outputs[old] as number[]) };
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
