import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderAgentGitConfig, upstreamUrlForms } from "./agent-gitconfig.js";

const UPSTREAMS = [
  { name: "app", url: "ssh://git@github.com/team/app.git" },
  { name: "docs", url: "ssh://git@git.example.test:2222/team/docs" },
];

describe("renderAgentGitConfig", () => {
  it("rewrites every spelling of each upstream to the gate", () => {
    expect(renderAgentGitConfig("demo-7f3a", UPSTREAMS)).toBe(
      [
        '[url "git://claude-bottle-git-gate-demo-7f3a/app.git"]',
        '\tinsteadOf = "ssh://git@github.com/team/app.git"',
        '\tinsteadOf = "ssh://git@github.com/team/app"',
        '\tinsteadOf = "git@github.com:/team/app"',
        '\tinsteadOf = "git@github.com:/team/app.git"',
        '\tinsteadOf = "git@github.com:team/app"',
        '\tinsteadOf = "git@github.com:team/app.git"',
        '[url "git://claude-bottle-git-gate-demo-7f3a/docs.git"]',
        '\tinsteadOf = "ssh://git@git.example.test:2222/team/docs"',
        '\tinsteadOf = "ssh://git@git.example.test:2222/team/docs.git"',
        "",
      ].join("\n"),
    );
  });

  it("is empty without upstreams", () => {
    expect(renderAgentGitConfig("demo-7f3a", [])).toBe("");
  });

  it("escapes quotes and backslashes in URLs", () => {
    expect(upstreamUrlForms('ssh://h:2222/a"b\\c.git')).toEqual([
      'ssh://h:2222/a"b\\c.git',
      'ssh://h:2222/a"b\\c',
    ]);
    expect(renderAgentGitConfig("s", [{ name: "x", url: 'ssh://h:2222/a"b\\c.git' }])).toContain(
      '\tinsteadOf = "ssh://h:2222/a\\"b\\\\c.git"\n',
    );
  });

  it("offers no scp-like spelling for a non-default port (scp syntax has none)", () => {
    expect(upstreamUrlForms("ssh://git@h:2222/r.git").some((f) => !f.startsWith("ssh://"))).toBe(
      false,
    );
    expect(upstreamUrlForms("ssh://git@h:22/r.git")).toContain("git@h:r.git");
  });

  describe("as real git reads it", () => {
    const dir = mkdtempSync(join(tmpdir(), "cb-gitconfig-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, "gitconfig");
    writeFileSync(config, renderAgentGitConfig("demo-7f3a", UPSTREAMS));
    // `ls-remote --get-url` applies insteadOf and exits without contacting anything.
    const rewrite = (url: string) =>
      execFileSync("git", ["ls-remote", "--get-url", url], {
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          GIT_CONFIG_GLOBAL: config,
          GIT_CONFIG_NOSYSTEM: "1",
        },
        encoding: "utf8",
      }).trim();

    it.each([
      ["ssh://git@github.com/team/app.git", "git://claude-bottle-git-gate-demo-7f3a/app.git"],
      ["ssh://git@github.com/team/app", "git://claude-bottle-git-gate-demo-7f3a/app.git"],
      ["git@github.com:team/app.git", "git://claude-bottle-git-gate-demo-7f3a/app.git"],
      ["git@github.com:/team/app.git", "git://claude-bottle-git-gate-demo-7f3a/app.git"],
      [
        "ssh://git@git.example.test:2222/team/docs",
        "git://claude-bottle-git-gate-demo-7f3a/docs.git",
      ],
      [
        "ssh://git@git.example.test:2222/team/docs.git",
        "git://claude-bottle-git-gate-demo-7f3a/docs.git",
      ],
      ["ssh://git@github.com/team/other.git", "ssh://git@github.com/team/other.git"],
    ])("%s → %s", (url, expected) => {
      expect(rewrite(url)).toBe(expected);
    });
  });
});
