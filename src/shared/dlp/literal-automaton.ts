// The DLP prefilter: one pass over the input that finds every occurrence of a set of literals
// (rule anchors and known-secret fragments), case-sensitively. An Aho-Corasick automaton
// compiled to a dense table indexed by state and byte: a clean body costs one table lookup per
// byte, and no regular expression runs unless one of its anchors occurs.

/** Called with the literal's index and the offset just past its last character. */
export type LiteralMatchHandler = (literal: number, end: number) => void;

function emit(literals: readonly number[], end: number, onMatch: LiteralMatchHandler): void {
  for (let i = 0; i < literals.length; i++) onMatch(literals[i] as number, end);
}

/** States past this need 32-bit table entries; below it, 16 bits halve the table. */
const NARROW_STATES = 0x10000;

/** Inputs this long or longer are walked as two halves at once (see #scanHalves). */
const HALVES_FROM = 4096;

/** The longest text #prime walks (in the interpreter: about 50 ns a byte). */
const PRIME_AT_MOST = 64 * 1024;

export class LiteralAutomaton {
  /**
   * Char code → the byte its column is read at: itself below 256, above it a byte no literal
   * holds (no literal holds such a character, so they all move alike).
   */
  readonly #byteOf: Uint8Array;
  /**
   * (state << 8 | byte) → next state. States are numbered so that the accepting ones come
   * last, from #acceptFrom: the hot loop is a shift, a load and one compare per byte. The
   * others are numbered breadth first, so the shallow states a clean text keeps to have their
   * rows together in a few pages of the table.
   */
  readonly #table: Uint16Array | Uint32Array;
  readonly #acceptFrom: number;
  readonly #outputs: readonly (readonly number[])[];
  /** The longest literal's length less one: how far back a walk must start to see one whole. */
  readonly #reach: number;

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
    this.#reach = literals.reduce((n, literal) => Math.max(n, literal.length), 0) - 1;
    this.#prime(literals);
  }

  /**
   * Runs each loop once over text full of matches, so that each is compiled with type feedback
   * for its match path. Without it, the loop compiled while a clean body was walked was thrown
   * away at the first match after: five times in the first pass of the bench's corpus, each a
   * return to the interpreter and a compile of about 9 ms.
   */
  #prime(literals: readonly string[]): void {
    const length = Math.max(HALVES_FROM, this.#reach * 4 + 1);
    // Nothing to match, or a secret so long that priming would cost more than it saves.
    if (literals.length === 0 || length > PRIME_AT_MOST) return;
    let text = "";
    for (let l = 0; text.length < length; l = (l + 1) % literals.length) {
      text += literals[l] as string;
    }
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    // Two handlers, so no loop is compiled for one it would be thrown away for.
    this.#scanHalves(bytes, IGNORE);
    this.#scanBytes(bytes.subarray(0, HALVES_FROM - 1), IGNORE_TOO);
    this.#scanString(text.slice(0, HALVES_FROM), IGNORE);
    this.#scanHalves(bytes, IGNORE_TOO);
    const escapes = new Uint8Array([BACKSLASH, 0x6e, BACKSLASH, 0x75, 0x30, 0x30, 0x34, 0x31]);
    this.anyInJson(escapes);
    this.anyInJson(bytes.subarray(0, HALVES_FROM));
  }

  get stateCount(): number {
    return this.#outputs.length;
  }

  /** Reports every occurrence, overlapping ones included. */
  scan(input: Uint8Array | string, onMatch: LiteralMatchHandler): void {
    // One loop per input type: each is compiled once for the one shape it meets.
    if (typeof input === "string") this.#scanString(input, onMatch);
    else this.#scanBytes(input, onMatch);
  }

  #scanBytes(input: Uint8Array, onMatch: LiteralMatchHandler): void {
    if (input.length >= HALVES_FROM && this.#reach * 4 < input.length) {
      this.#scanHalves(input, onMatch);
      return;
    }
    const table = this.#table;
    const acceptFrom = this.#acceptFrom;
    const outputs = this.#outputs;
    let state = 0;
    for (let i = 0; i < input.length; i++) {
      state = table[(state << 8) | (input[i] as number)] as number;
      if (state >= acceptFrom) emit(outputs[state] as number[], i + 1, onMatch);
    }
  }

  /**
   * Each step of a walk waits on the table load of the step before, so one walk leaves the
   * CPU idle while a row comes from cache. Two independent walks, over the first half and the
   * second, interleave and the CPU overlaps their loads (about a third less time per byte on
   * a large body). The second walk starts #reach bytes before the middle, so a literal across it
   * is seen whole; it reports only what ends past the middle (the first walk saw the rest),
   * and after the first walk's reports, so ends still come in order.
   */
  #scanHalves(input: Uint8Array, onMatch: LiteralMatchHandler): void {
    const table = this.#table;
    const acceptFrom = this.#acceptFrom;
    const outputs = this.#outputs;
    const middle = input.length >>> 1;
    let first = 0;
    let second = 0;
    let j = middle - this.#reach;
    for (; j < middle; j++) second = table[(second << 8) | (input[j] as number)] as number;
    const held: number[] = [];
    for (let i = 0; i < middle; i++, j++) {
      first = table[(first << 8) | (input[i] as number)] as number;
      second = table[(second << 8) | (input[j] as number)] as number;
      if (first >= acceptFrom) emit(outputs[first] as number[], i + 1, onMatch);
      if (second >= acceptFrom) held.push(second, j + 1);
    }
    // An odd length leaves the second half one byte longer.
    if (j < input.length) {
      second = table[(second << 8) | (input[j] as number)] as number;
      if (second >= acceptFrom) held.push(second, j + 1);
    }
    for (let h = 0; h < held.length; h += 2) {
      emit(outputs[held[h] as number] as number[], held[h + 1] as number, onMatch);
    }
  }

  #scanString(input: string, onMatch: LiteralMatchHandler): void {
    const table = this.#table;
    const acceptFrom = this.#acceptFrom;
    const outputs = this.#outputs;
    const byteOf = this.#byteOf;
    let state = 0;
    for (let i = 0; i < input.length; i++) {
      state = table[(state << 8) | (byteOf[input.charCodeAt(i)] as number)] as number;
      if (state >= acceptFrom) emit(outputs[state] as number[], i + 1, onMatch);
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
  // The distinct characters in order of first appearance, found by the Set's native loop: a
  // loop here over every character of thousands of literals ran long enough to be compiled,
  // once, on another thread (about 8 ms of CPU for a loop of 2).
  for (const character of new Set(literals.join(""))) {
    let c = character.charCodeAt(0);
    if (c > 255 || character.length > 1) throw new Error("literals must be latin1 strings");
    if (fold && c >= 0x41 && c <= 0x5a) c += 0x20;
    if (classOf[c] !== 0) continue;
    // Class 0 is for the bytes no literal holds; there must be one, for other characters.
    if (classCount === 256) throw new Error("literals must leave at least one byte unused");
    classOf[c] = classCount++;
  }
  if (fold) for (let c = 0x41; c <= 0x5a; c++) classOf[c] = classOf[c + 0x20] as number;
  return { classOf, classCount };
}

/**
 * Flat arrays indexed by state (a few thousand states per secret: one small object each would
 * make the build mostly garbage collection). Children are linked lists: first child, next
 * sibling.
 */
interface Trie {
  stateCount: number;
  firstChild: Int32Array;
  nextSibling: Int32Array;
  /** The class of the edge into each state. */
  edgeClass: Uint8Array;
  fail: Int32Array;
  /** Literals ending at each state, its failure chain's included; only accepting states. */
  outputs: Map<number, number[]>;
  /** Every state but the start, breadth first: failure states come before theirs. */
  order: Int32Array;
}

/** The literals' trie with Aho-Corasick failure links and inherited outputs. */
function buildTrie(literals: readonly string[], { classOf, classCount }: Classes): Trie {
  let capacity = 1;
  for (let l = 0; l < literals.length; l++) capacity += (literals[l] as string).length;
  const firstChild = new Int32Array(capacity).fill(-1);
  const nextSibling = new Int32Array(capacity).fill(-1);
  const edgeClass = new Uint8Array(capacity);
  // The start state has a child for most classes; any other state has one or a few, found by
  // walking its list (a map of every edge was most of the build's garbage).
  const rootChild = new Int32Array(classCount).fill(-1);
  const childOf = (state: number, k: number): number => {
    if (state === 0) return rootChild[k] as number;
    let c = firstChild[state] as number;
    while (c !== -1 && edgeClass[c] !== k) c = nextSibling[c] as number;
    return c;
  };
  const outputs = new Map<number, number[]>();
  let stateCount = 1;
  for (let index = 0; index < literals.length; index++) {
    const literal = literals[index] as string;
    if (literal.length === 0) throw new Error("literals must not be empty");
    let state = 0;
    for (let i = 0; i < literal.length; i++) {
      const k = classOf[literal.charCodeAt(i)] as number;
      let to = childOf(state, k);
      if (to === -1) {
        to = stateCount++;
        if (state === 0) rootChild[k] = to;
        nextSibling[to] = firstChild[state] as number;
        firstChild[state] = to;
        edgeClass[to] = k;
      }
      state = to;
    }
    const own = outputs.get(state);
    if (own === undefined) outputs.set(state, [index]);
    else own.push(index);
  }

  // Breadth first: a child's failure state is where its parent's failure chain first has an
  // edge of the child's class (the start state's children fail to it).
  const fail = new Int32Array(stateCount);
  const order = new Int32Array(stateCount - 1);
  let tail = 0;
  for (let c = firstChild[0] as number; c !== -1; c = nextSibling[c] as number) order[tail++] = c;
  for (let head = 0; head < tail; head++) {
    const state = order[head] as number;
    for (
      let child = firstChild[state] as number;
      child !== -1;
      child = nextSibling[child] as number
    ) {
      const k = edgeClass[child] as number;
      let f = fail[state] as number;
      let to = childOf(f, k);
      while (to === -1 && f !== 0) {
        f = fail[f] as number;
        to = childOf(f, k);
      }
      const failTo = to === -1 ? 0 : to;
      fail[child] = failTo;
      const inherited = outputs.get(failTo);
      if (inherited !== undefined)
        outputs.set(child, [...(outputs.get(child) ?? []), ...inherited]);
      order[tail++] = child;
    }
  }
  return {
    stateCount,
    firstChild: firstChild.subarray(0, stateCount),
    nextSibling: nextSibling.subarray(0, stateCount),
    edgeClass: edgeClass.subarray(0, stateCount),
    fail,
    outputs,
    order,
  };
}

/**
 * The complete table over bytes, states renumbered breadth first with the accepting ones last
 * (the start state accepts nothing, literals being non-empty, so it stays 0).
 */
function byteTable(
  trie: Trie,
  classOf: Uint8Array,
): { table: Uint16Array | Uint32Array; acceptFrom: number; outputs: number[][] } {
  const { stateCount, firstChild, nextSibling, edgeClass, fail, outputs, order } = trie;
  const acceptFrom = stateCount - outputs.size;
  const renamed = new Int32Array(stateCount);
  let plain = 0;
  let accepting = acceptFrom;
  const renamedOutputs: number[][] = new Array(stateCount).fill(NO_OUTPUTS);
  for (let o = -1; o < order.length; o++) {
    const s = o < 0 ? 0 : (order[o] as number);
    const own = outputs.get(s);
    if (own === undefined) renamed[s] = plain++;
    else {
      renamedOutputs[accepting] = own;
      renamed[s] = accepting++;
    }
  }
  const table =
    stateCount <= NARROW_STATES
      ? new Uint16Array(stateCount * 256)
      : new Uint32Array(stateCount * 256);
  // The bytes of each class, as [start, end) into `bytes`.
  const classCount = Math.max(...classOf) + 1;
  const classStart = new Int32Array(classCount + 1);
  for (let b = 0; b < 256; b++) classStart[(classOf[b] as number) + 1]++;
  for (let k = 0; k < classCount; k++) classStart[k + 1] += classStart[k] as number;
  const bytes = new Uint8Array(256);
  const filled = classStart.slice(0, classCount);
  for (let b = 0; b < 256; b++) bytes[filled[classOf[b] as number]++] = b;
  // A state moves as its failure state does, except along its own trie edges: its row is that
  // row (already spread: failure states come first in `order`) with its children written over
  // it. The start state's row goes to its children or to itself.
  for (let o = -1; o < order.length; o++) {
    const state = o < 0 ? 0 : (order[o] as number);
    const out = (renamed[state] as number) * 256;
    if (o >= 0) {
      const from = (renamed[fail[state] as number] as number) * 256;
      table.copyWithin(out, from, from + 256);
    }
    for (let c = firstChild[state] as number; c !== -1; c = nextSibling[c] as number) {
      const k = edgeClass[c] as number;
      const to = renamed[c] as number;
      for (let i = classStart[k] as number; i < (classStart[k + 1] as number); i++) {
        table[out + (bytes[i] as number)] = to;
      }
    }
  }
  return { table, acceptFrom, outputs: renamedOutputs };
}

const NO_OUTPUTS: number[] = [];

const IGNORE: LiteralMatchHandler = () => {};
const IGNORE_TOO: LiteralMatchHandler = () => undefined;

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
