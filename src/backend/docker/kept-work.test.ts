import { describe, expect, it } from "vitest";
import { describeKeptWork } from "./kept-work.js";

describe("describeKeptWork", () => {
  const base = {
    repoDir: "/src/app",
    dir: "/h/kept/ab12",
    branches: [],
    patch: null,
    workCopy: null,
    warnings: [],
  };

  it("names each branch and the patch", () => {
    expect(
      describeKeptWork(
        {
          ...base,
          branches: [{ branch: "claude-bottle/ab12/main", agentName: "main", renamed: false }],
          patch: "/h/kept/ab12/changes.patch",
        },
        "/src/app/lib",
      ),
    ).toEqual([
      "the agent's commits: branch claude-bottle/ab12/main in .. (git log claude-bottle/ab12/main)",
      "the agent's uncommitted changes: /h/kept/ab12/changes.patch (git apply /h/kept/ab12/changes.patch)",
    ]);
  });

  it("says when there was nothing, and passes warnings on", () => {
    expect(describeKeptWork(base, "/src/app")).toEqual([
      "the agent left no commits and no uncommitted changes in .",
    ]);
    expect(describeKeptWork({ ...base, warnings: ["the container is gone"] }, "/src/app")).toEqual([
      "warning: the container is gone",
    ]);
  });
});
