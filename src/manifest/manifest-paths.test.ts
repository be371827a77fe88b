import { describe, expect, it } from "vitest";
import { displayPath, expandHostPath, resolveManifestPaths } from "./manifest-paths.js";

describe("resolveManifestPaths", () => {
  it("defaults to ~/.claude-bottle, from the HOME it is given", () => {
    expect(resolveManifestPaths({ env: { HOME: "/home/ada" } })).toEqual({
      home: "/home/ada/.claude-bottle",
      userHome: "/home/ada",
      bottlesDir: "/home/ada/.claude-bottle/bottles",
      agentsDir: "/home/ada/.claude-bottle/agents",
      repoDir: null,
    });
  });

  it("takes CLAUDE_BOTTLE_HOME, and a repository", () => {
    const paths = resolveManifestPaths({
      env: { HOME: "/home/ada", CLAUDE_BOTTLE_HOME: "/srv/bottles" },
      repoDir: "/work/app",
    });
    expect([paths.bottlesDir, paths.repoDir]).toEqual(["/srv/bottles/bottles", "/work/app"]);
  });

  it("refuses a relative CLAUDE_BOTTLE_HOME", () => {
    expect(() =>
      resolveManifestPaths({ env: { HOME: "/home/ada", CLAUDE_BOTTLE_HOME: "bottles" } }),
    ).toThrow('CLAUDE_BOTTLE_HOME must be an absolute path, got "bottles"');
  });
});

describe("displayPath and expandHostPath", () => {
  it("shows paths under the user's home with ~", () => {
    expect(displayPath("/home/ada/.claude-bottle/bottles/dev.md", "/home/ada")).toBe(
      "~/.claude-bottle/bottles/dev.md",
    );
    expect(displayPath("/home/adam/x.md", "/home/ada")).toBe("/home/adam/x.md");
  });

  it("expands ~/ and, given a base, relative paths; refuses ~user", () => {
    expect(expandHostPath("~/.ssh/id", "/home/ada")).toBe("/home/ada/.ssh/id");
    expect(expandHostPath("/etc/../etc/key", "/home/ada")).toBe("/etc/key");
    expect(expandHostPath("skills/x", "/home/ada")).toBeUndefined();
    expect(expandHostPath("skills/x", "/home/ada", "/repo/agents")).toBe("/repo/agents/skills/x");
    expect(expandHostPath("~bob/x", "/home/ada", "/repo")).toBeUndefined();
  });
});
