import { describe, expect, it } from "vitest";
import { SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS } from "../contracts/supervise.js";
import { callTimesOutAt } from "./dashboard-views.js";

describe("callTimesOutAt", () => {
  it("is supervise's answer timeout after the proposal was filed", () => {
    expect(SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS).toBe(600);
    expect(callTimesOutAt("2030-01-01T00:00:00.000Z")).toBe("2030-01-01T00:10:00.000Z");
  });

  it("is null for a filing time that does not parse", () => {
    expect(callTimesOutAt("yesterday-ish")).toBeNull();
  });
});
