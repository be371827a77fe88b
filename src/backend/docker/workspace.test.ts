import { describe, expect, it } from "vitest";
import { describeKeptWork, publicRemoteUrl } from "./workspace.js";

describe("publicRemoteUrl", () => {
  it.each([
    ["https://user:s3cret@github.com/o/r.git", "https://github.com/o/r.git"],
    ["https://ghp_token123@github.com/o/r.git", "https://github.com/o/r.git"],
    ["http://x-access-token:abc@git.example.test/r", "http://git.example.test/r"],
    ["https://github.com/o/r.git", "https://github.com/o/r.git"],
    ["ssh://git@git.example.test:2222/o/r.git", "ssh://git@git.example.test:2222/o/r.git"],
    ["ssh://git:pw@git.example.test/o/r.git", "ssh://git@git.example.test/o/r.git"],
    ["git@github.com:o/r.git", "git@github.com:o/r.git"],
    ["git:pw@github.com:o/r.git", "github.com:o/r.git"],
  ])("%s -> %s", (url, shown) => {
    expect(publicRemoteUrl(url)).toBe(shown);
  });

  it.each(["/srv/git/r.git", "../r.git", "file:///srv/git/r.git", "https://[bad"])(
    "gives no URL for %s, which means nothing inside the bottle",
    (url) => {
      expect(publicRemoteUrl(url)).toBeNull();
    },
  );
});

describe("describeKeptWork", () => {
  const base = {
    repoDir: "/src/app",
    dir: "/h/kept/ab12",
    branches: [],
    patch: null,
    warnings: [],
  };

  it("names each branch and the patch", () => {
    expect(
      describeKeptWork(
        { ...base, branches: ["claude-bottle/ab12/main"], patch: "/h/kept/ab12/changes.patch" },
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
