import { describe, expect, it } from "vitest";
import { rawControlsIn } from "../../test/support/fixtures/hostile-text.js";
import { formatTable } from "./format-table.js";

describe("formatTable", () => {
  it("aligns columns", () => {
    const rows = [
      ["xyz", "1"],
      ["q", "22"],
    ];
    expect(formatTable(["A", "BB"], rows)).toBe("A    BB\nxyz  1\nq    22\n");
  });

  it("defuses a control left in a cell, so no cell redraws the rows around it", () => {
    const text = formatTable(["A", "B"], [["a\x1b[1A\rb\nc", "\u202Ed"]]);
    expect(rawControlsIn(text, { newline: true })).toEqual([]);
    expect(text.split("\n")).toHaveLength(3);
    expect(text).toContain("a\\u001b[1A\\u000db\\u000ac  \\u202ed");
  });
});
