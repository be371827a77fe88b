import { describe, expect, it } from "vitest";
import { LiteralAutomaton } from "./literal-automaton.js";

function matches(automaton: LiteralAutomaton, input: string | Uint8Array) {
  const out: [number, number][] = [];
  automaton.scan(input, (literal, end) => out.push([literal, end]));
  return out.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
}

/** A seeded pseudo-random whole number below `n`: the same sequence on every run. */
function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
}

/** Every [literal index, end offset] that indexOf finds, in the order the automaton reports. */
function plainSearch(literals: string[], text: string): [number, number][] {
  const expected: [number, number][] = [];
  literals.forEach((literal, index) => {
    for (let at = text.indexOf(literal); at !== -1; at = text.indexOf(literal, at + 1)) {
      expected.push([index, at + literal.length]);
    }
  });
  return expected.sort((x, y) => x[1] - y[1] || x[0] - y[0]);
}

describe("LiteralAutomaton", () => {
  // Each match as "literal@end": the literal's index and the offset just past it.
  it.each([
    {
      name: "reports overlapping and nested literals with their end offsets",
      literals: ["he", "she", "his", "hers"],
      input: "ushers",
      found: ["0@4", "1@4", "3@6"],
    },
    {
      name: "matches case-sensitively, on a string",
      literals: ["AKIA", "eyJ"],
      input: "x akia AKIA eyj eyJ",
      found: ["0@11", "1@19"],
    },
    {
      name: "matches case-sensitively, on bytes alike",
      literals: ["AKIA", "eyJ"],
      input: Buffer.from("x akia AKIA eyj eyJ"),
      found: ["0@11", "1@19"],
    },
    {
      name: "moves on a character above latin1 as on a byte no literal holds",
      literals: ["ab", "\u00ffb"],
      input: "a\u0100b \u0100ab \u01ffb \u00ffb",
      found: ["0@7", "1@13"],
    },
  ])("$name", ({ literals, input, found }) => {
    const a = new LiteralAutomaton(literals);
    expect(matches(a, input).map(([literal, end]) => `${literal}@${end}`)).toEqual(found);
  });

  it("treats characters outside latin1 as no match and keeps latin1 bytes exact", () => {
    const a = new LiteralAutomaton(["caf\u00e9"]);
    expect(matches(a, "café ☕ caf\u00c9")).toEqual([[0, 4]]);
    expect(() => new LiteralAutomaton(["☕"])).toThrow("literals must be latin1 strings");
  });

  it("refuses empty literals, and literals that use every byte", () => {
    expect(() => new LiteralAutomaton([""])).toThrow("literals must not be empty");
    const all = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b)).join("");
    expect(() => new LiteralAutomaton([all])).toThrow("leave at least one byte unused");
    expect(matches(new LiteralAutomaton([all.slice(1)]), `\u0100${all.slice(1)}`)).toEqual([
      [0, 256],
    ]);
  });

  it("keeps every literal and its offsets past 65,536 states (32-bit table rows)", () => {
    // 10,000 literals of 12 pseudo-random characters: more than 65,536 trie states.
    let seed = 7;
    const letter = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return String.fromCharCode(0x61 + ((seed >>> 16) % 26));
    };
    const literals = Array.from(
      { length: 10_000 },
      (_, i) => `${Array.from({ length: 11 }, letter).join("")}${i % 10}`,
    );
    const a = new LiteralAutomaton(literals);
    expect(a.stateCount).toBeGreaterThan(65_536);
    const text = `--${literals[0]}--${literals[9999]}--${literals[4321]}`;
    const found = matches(a, text);
    expect(found).toContainEqual([0, 14]);
    expect(found).toContainEqual([9999, 28]);
    expect(found).toContainEqual([4321, 42]);
  });
});

describe("LiteralAutomaton against a plain search", () => {
  it("finds exactly what indexOf finds, over random literal sets and texts", () => {
    const random = seededRandom(5);
    // Few characters, so that literals share prefixes, suffixes and each other's insides.
    const chars = "abAB-_\u00e9x";
    const word = (max: number) =>
      Array.from({ length: 1 + random(max) }, () => chars[random(chars.length)]).join("");
    for (let round = 0; round < 200; round++) {
      const literals = Array.from({ length: 1 + random(40) }, () => word(6));
      const foldCase = round % 2 === 1;
      const a = new LiteralAutomaton(literals, { foldCase });
      const text = word(300);
      const fold = (t: string) => (foldCase ? t.toLowerCase() : t);
      const expected = plainSearch(literals.map(fold), fold(text));
      expect(matches(a, text), `round ${round}`).toEqual(expected);
      expect(matches(a, Buffer.from(text, "latin1")), `round ${round}, bytes`).toEqual(expected);
    }
  });
});

describe("LiteralAutomaton on long inputs (walked as two halves)", () => {
  const random = seededRandom(11);
  const chars = "abAB-_x";
  const word = (length: number) =>
    Array.from({ length }, () => chars[random(chars.length)]).join("");

  it("finds exactly what indexOf finds, with every literal across the middle at every cut", () => {
    const literals = ["ab-x", "Ab", "bAB_a", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "_"];
    const a = new LiteralAutomaton(literals);
    for (const length of [4096, 4097, 6001]) {
      for (const literal of literals) {
        for (let cut = 0; cut <= literal.length; cut++) {
          // Filler of a byte no literal holds, the literal cut by the middle `cut` bytes in.
          const text = Buffer.alloc(length, "z");
          text.write(literal, (length >>> 1) - cut, "latin1");
          const found = matches(a, text);
          expect(found, `${literal} cut at ${cut}, ${length} bytes`).toEqual(
            plainSearch(literals, text.toString("latin1")),
          );
          expect(found.length).toBeGreaterThan(0);
        }
      }
    }
  });

  it("matches a plain search over random texts, reporting ends in order", () => {
    for (let round = 0; round < 40; round++) {
      const literals = Array.from({ length: 1 + random(30) }, () => word(1 + random(8)));
      const a = new LiteralAutomaton(literals);
      const text = word(4096 + random(5000));
      const ends: number[] = [];
      a.scan(Buffer.from(text, "latin1"), (_, end) => ends.push(end));
      expect(
        ends.every((end, i) => i === 0 || end >= (ends[i - 1] as number)),
        `round ${round}`,
      ).toBe(true);
      expect(matches(a, Buffer.from(text, "latin1")), `round ${round}`).toEqual(
        plainSearch(literals, text),
      );
    }
  });
});

describe("LiteralAutomaton.anyInJson", () => {
  const a = new LiteralAutomaton(["\nAKIA", "ghp_", 'a"b']);
  const has = (json: string) => a.anyInJson(Buffer.from(json));

  it("sees literals through JSON escapes", () => {
    expect(has('{"k":"x\\nAKIA"}')).toBe(true);
    expect(has('{"k":"\\u0067hp_"}')).toBe(true);
    expect(has('{"k":"a\\"b"}')).toBe(true);
    expect(has('{"k":"x\\\\nAKIA"}')).toBe(false);
    expect(has('{"k":"clean\\ttext"}')).toBe(false);
  });

  it("gives up (true) on escapes it does not decode", () => {
    expect(has('{"k":"\\u00e9"}')).toBe(true);
    expect(has('{"k":"\\u00zz"}')).toBe(true);
  });
});

describe("LiteralAutomaton with foldCase", () => {
  it("matches ASCII letters in either case, and nothing else more", () => {
    const a = new LiteralAutomaton(["Secret-1", "xyz"], { foldCase: true });
    const hits: [number, number][] = [];
    a.scan("SECRET-1 secret-1 sEcReT-1 XyZ secret_1", (i, end) => hits.push([i, end]));
    expect(hits).toEqual([
      [0, 8],
      [0, 17],
      [0, 26],
      [1, 30],
    ]);
  });
});
