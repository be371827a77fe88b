import { describe, expect, it } from "vitest";
import { ALL_HOSTILE, rawControlsIn } from "../../test/support/fixtures/hostile-text.js";
import { dashboardLine } from "./dashboard-command.js";

describe("dashboardLine", () => {
  it("shows a log line quoting bottle text on one line, escaped", () => {
    const line = dashboardLine(`cannot list bottles: ${ALL_HOSTILE}`);
    expect(line.startsWith("dashboard: cannot list bottles: a\\x1b[2J")).toBe(true);
    expect(line.endsWith("\n")).toBe(true);
    expect(rawControlsIn(line.slice(0, -1))).toEqual([]);
  });
});
