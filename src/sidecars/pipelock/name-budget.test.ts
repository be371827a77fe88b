import { describe, expect, it } from "vitest";
import { NameBudget } from "./name-budget.js";

describe("NameBudget", () => {
  it("admits up to the budget of distinct names per wildcard, then refuses new ones only", () => {
    const names = new NameBudget();
    for (let i = 0; i < 3; i++) {
      expect(names.admit("*.example.test", `n${i}.example.test`, 3)).toEqual({
        ok: true,
        used: i + 1,
      });
    }
    expect(names.admit("*.example.test", "n3.example.test", 3)).toEqual({
      ok: false,
      used: 3,
      budget: 3,
    });
    // A name used before still works, in any case; the refused one was not counted.
    expect(names.admit("*.example.test", "N1.Example.Test", 3)).toEqual({ ok: true, used: 3 });
    expect(names.usage()).toEqual([{ pattern: "*.example.test", names: 3 }]);
  });

  it("keeps a budget per wildcard rule", () => {
    const names = new NameBudget();
    expect(names.admit("*.a.test", "x.a.test", 1).ok).toBe(true);
    expect(names.admit("*.b.test", "x.b.test", 1).ok).toBe(true);
    expect(names.admit("*.a.test", "y.a.test", 1).ok).toBe(false);
  });

  it("applies a raised budget at once (a reload)", () => {
    const names = new NameBudget();
    expect(names.admit("*.a.test", "x.a.test", 1).ok).toBe(true);
    expect(names.admit("*.a.test", "y.a.test", 1).ok).toBe(false);
    expect(names.admit("*.a.test", "y.a.test", 2).ok).toBe(true);
  });
});
