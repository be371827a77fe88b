import { describe, expect, it } from "vitest";
import { InputError } from "../shared/errors.js";
import { STOP_TIMEOUT_ENV, stopBudgetOf } from "./end-bottle.js";

describe("stopBudgetOf", () => {
  it("gives half of the bound to keeping the work and a quarter to each removal step", () => {
    expect(stopBudgetOf({})).toEqual({
      totalMs: 120_000,
      keepMs: 60_000,
      removal: { gracefulMs: 30_000, forcedMs: 30_000 },
    });
    expect(stopBudgetOf({ [STOP_TIMEOUT_ENV]: "40" }).removal).toEqual({
      gracefulMs: 10_000,
      forcedMs: 10_000,
    });
  });

  it("refuses a bound that is not a whole number of seconds of at least 10, naming the fix", () => {
    for (const raw of ["abc", "5", "-1", "1.5"]) {
      expect(() => stopBudgetOf({ [STOP_TIMEOUT_ENV]: raw })).toThrow(InputError);
    }
    expect(() => stopBudgetOf({ [STOP_TIMEOUT_ENV]: "5" })).toThrow(
      'CLAUDE_BOTTLE_STOP_TIMEOUT="5" is not a whole number of seconds >= 10',
    );
  });
});
