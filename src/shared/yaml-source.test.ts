import { describe, expect, it } from "vitest";
import { InputError } from "./errors.js";
import { parseYamlSource } from "./yaml-source.js";

function refusal(text: string, limits?: Parameters<typeof parseYamlSource>[2]): InputError {
  try {
    parseYamlSource(text, "f.yaml", limits);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error("expected an InputError");
}

describe("parseYamlSource: keys", () => {
  it("refuses a key given twice, at the second", () => {
    const error = refusal("env:\n  A: 1\n  B: 2\n  A: 3\n");
    expect(error.message).toBe(
      'f.yaml:4:3: env.A: "A" is already a key of this mapping, on the line above or earlier; keep one',
    );
    expect(error.hint).toBe("each key may appear once in a mapping");
  });

  it("refuses keys that read the same as text (1 and '1'), which would silently collapse", () => {
    expect(refusal('a: {1: x, "1": y}\n').message).toBe(
      'f.yaml:1:11: a.1: "1" is already a key of this mapping, on the line above or earlier; keep one',
    );
  });

  it.each([
    ["__proto__: {polluted: true}\n", "1:1", "__proto__", "__proto__"],
    ['"__proto__": 1\n', "1:1", "__proto__", "__proto__"],
    ["env:\n  constructor: x\n", "2:3", "env.constructor", "constructor"],
    ["a: [{prototype: 1}]\n", "1:6", "a[0].prototype", "prototype"],
    ["a: {b: {__proto__: {x: 1}}}\n", "1:9", "a.b.__proto__", "__proto__"],
  ])("refuses %j anywhere", (text, at, path, key) => {
    const error = refusal(text);
    expect(error.message).toBe(
      `f.yaml:${at}: ${path}: "${key}" cannot be a key: it names a JavaScript object's internals`,
    );
    expect(error.hint).toBe(`rename or remove "${key}"`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ["? [a]\n: 1\n", "1:3", "a list or mapping"],
    ["{a: 1}: 2\n", "1:1", "a list or mapping"],
    ["x: &k a\n*k : 2\n", "2:1", "an alias"],
  ])("refuses a key that is not a plain value: %j", (text, at, what) => {
    expect(refusal(text).message).toBe(
      `f.yaml:${at}: a key must be a plain word or string, not ${what}`,
    );
  });

  it("still finds keys for messages, by index (line of a key among many)", () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `  K${i}: ${i}`);
    const source = parseYamlSource(`env:\n${lines.join("\n")}\n`, "f.yaml");
    expect(source.locateKey(["env", "K4321"])).toEqual({ line: 4323, col: 3 });
    expect(source.locate(["env", "nope"])).toEqual({ line: 2, col: 3 });
  });
});

describe("parseYamlSource: nesting", () => {
  it("refuses deep flow nesting on the tokens, before the parser recurses", () => {
    // 100,000 levels used to exhaust the stack; the file-size cap allows about 130,000.
    const text = `a: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`;
    const error = refusal(text);
    expect(error.message).toBe(
      "f.yaml:1:36: nested more than 32 levels deep (mappings and lists inside one another)",
    );
    expect(error.hint).toBe(
      "a manifest or plan is a few levels deep; flatten the structure (mappings and lists inside one another)",
    );
  });

  it("is not fooled by brackets inside quoted strings", () => {
    const closers = Array.from({ length: 40 }, () => '"]", ').join("");
    const text = `a: ${"[ x, ".repeat(40)}${closers}${"]".repeat(40)}\n`;
    expect(refusal(text).message).toBe(
      "f.yaml:1:164: nested more than 32 levels deep (mappings and lists inside one another)",
    );
  });

  it("refuses deep block nesting, naming the path", () => {
    const text = Array.from({ length: 6 }, (_, i) => `${"  ".repeat(i)}k${i}:`).join("\n");
    expect(refusal(`${text} 1\n`, { limits: { maxDepth: 4 } }).message).toBe(
      "f.yaml:4:7: k0.k1.k2.k3: nested more than 4 levels deep (mappings and lists inside one another)",
    );
  });

  it("accepts nesting up to the cap", () => {
    const text = `a: ${"[".repeat(31)}1${"]".repeat(31)}\n`;
    expect(parseYamlSource(text, "f.yaml").value).toBeTypeOf("object");
  });
});

describe("parseYamlSource: aliases", () => {
  it("refuses a billion laughs", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 4; i += 1) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const error = refusal(`${levels.join("\n")}\n`);
    expect(error.message).toBe(
      "f.yaml:2:8: Excessive alias count indicates a resource exhaustion attack",
    );
    expect(error.hint).toBe("aliases may expand to at most 100 copies: write the values out");
  });

  it("refuses more alias nodes than the cap", () => {
    const text = `a: &a x\nb: [${Array(51).fill("*a").join(", ")}]\n`;
    expect(refusal(text).message).toBe('f.yaml:2:205: more than 50 aliases ("*name")');
  });

  it("refuses an alias inside the value it names, which would contain itself", () => {
    expect(refusal("a: &a [x, *a]\n").message).toBe(
      "f.yaml:1:11: a[1]: alias *a is inside the value it names",
    );
  });

  it("keeps a few plain aliases working", () => {
    expect(parseYamlSource("a: &h [x, y]\nb: *h\n", "f.yaml").value).toEqual({
      a: ["x", "y"],
      b: ["x", "y"],
    });
  });
});

describe("parseYamlSource: entries", () => {
  const limits = { maxEntries: (path: readonly PropertyKey[]) => (path[0] === "env" ? 3 : 2) };

  it("refuses a mapping or list over its cap, at the key that holds it", () => {
    expect(refusal("x: 1\nenv: {A: 1, B: 2, C: 3, D: 4}\n", { limits }).message).toBe(
      "f.yaml:2:1: env: 4 entries, more than the 3 allowed here; remove some",
    );
    expect(refusal("l:\n  - [1, 2, 3]\n", { limits }).message).toBe(
      "f.yaml:2:5: l[0]: 3 entries, more than the 2 allowed here; remove some",
    );
    expect(refusal("a: 1\nb: 2\nc: 3\n", { limits }).message).toBe(
      "f.yaml:1:1: 3 entries, more than the 2 allowed here; remove some",
    );
  });

  it("accepts a collection at its cap", () => {
    expect(parseYamlSource("env: {A: 1, B: 2, C: 3}\n", "f.yaml", { limits }).value).toEqual({
      env: { A: 1, B: 2, C: 3 },
    });
  });
});

describe("parseYamlSource: tags", () => {
  it.each([
    ["env:\n  A: !!js/function 'function () {}'\n", "2:20", "env.A: the YAML tag !!js/function"],
    ["env:\n  A: !custom x\n", "2:14", "env.A: the YAML tag !custom"],
    ["a: !!binary aGVsbG8=\n", "1:13", "a: the YAML tag !!binary"],
    ["a: !!timestamp 2001-12-14\n", "1:16", "a: the YAML tag !!timestamp"],
    ["a: !!set {x}\n", "1:10", "a: the YAML tag !!set"],
    ["a: !!omap [x: 1]\n", "1:11", "a: the YAML tag !!omap"],
    ["!!binary aGk=: 1\n", "1:10", "the YAML tag !!binary"],
    ["a: !<tag:example.test,2026:x> x\n", "1:31", "a: the YAML tag tag:example.test,2026:x"],
  ])("refuses %j, naming the tag at its value", (text, at, message) => {
    const error = refusal(text);
    expect(error.message).toContain(`f.yaml:${at}: ${message}`);
    expect(error.message).toContain("is not accepted");
    expect(error.message).not.toContain("\u001b");
    expect(error.hint).toBe(
      "remove the tag: these files take plain values (strings, numbers, true/false, lists, mappings)",
    );
  });

  it("keeps the plain tags, which say what the value already is", () => {
    const { value } = parseYamlSource(
      "a: !!str 1\nb: !!int '3'\nc: !!bool true\nd: !!map {x: !!null ''}\ne: !!seq [!!float 1.5]\n",
      "f.yaml",
    );
    expect(value).toEqual({ a: "1", b: 3, c: true, d: { x: null }, e: [1.5] });
  });
});
