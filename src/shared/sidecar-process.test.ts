import { describe, expect, it } from "vitest";
import { BottleError, InputError } from "./errors.js";
import { startFailure } from "./sidecar-process.js";

describe("startFailure", () => {
  it("prints the user's error with its hint, and a bug as a bug", () => {
    expect(
      startFailure("egress", new BottleError("EGRESS_UPSTREAM_PROXY is unset", { hint: "set it" })),
    ).toBe("egress: refusing to start: EGRESS_UPSTREAM_PROXY is unset\nhint: set it\n");
    expect(startFailure("pipelock", new InputError('unknown command "x"'))).toBe(
      'pipelock: refusing to start: unknown command "x"\n',
    );
    const bug = startFailure("supervise", new TypeError("x is not a function"));
    expect(bug).toMatch(/^supervise: failed to start \(a bug\): TypeError: x is not a function\n/);
    expect(startFailure("supervise", "thrown text")).toBe(
      "supervise: failed to start (a bug): thrown text\n",
    );
  });
});
