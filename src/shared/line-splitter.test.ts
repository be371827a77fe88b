import { describe, expect, it } from "vitest";
import { LineSplitter } from "./line-splitter.js";

describe("LineSplitter", () => {
  it("joins a line cut across chunks and keeps the partial end", () => {
    const s = new LineSplitter();
    expect(s.push('{"a"')).toEqual([]);
    expect(s.push(':1}\n{"b":2}\r\n{"c"')).toEqual(['{"a":1}', '{"b":2}']);
    expect(s.push(":3}\n")).toEqual(['{"c":3}']);
    expect(s.push("")).toEqual([]);
  });

  it("drops an overlong line whole, and only it", () => {
    const s = new LineSplitter(10);
    expect(s.push("short\n0123456789AB")).toEqual(["short"]);
    expect(s.push("CDEF")).toEqual([]);
    expect(s.push("GH\nnext\n")).toEqual(["next"]);
    expect(s.push("0123456789ABC\nok\n")).toEqual(["ok"]);
    expect(s.dropped).toBe(2);
  });
});
