import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  ALL_HOSTILE,
  HOSTILE_TEXT,
  rawControlsIn,
} from "../../test/support/fixtures/hostile-text.js";
import { describeKeptWork, type KeptWork } from "./kept-work.js";

describe("describeKeptWork", () => {
  const base: KeptWork = {
    repoDir: "/src/app",
    dir: "/h/kept/ab12",
    branches: [],
    patch: null,
    workCopy: null,
    warnings: [],
  };

  it("names each branch and the patch, with commands that work from the current directory", () => {
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
      "the agent's commits: branch claude-bottle/ab12/main in /src/app (git -C .. log claude-bottle/ab12/main)",
      "the agent's changes to your working tree as it was at start: /h/kept/ab12/changes.patch (git -C .. apply /h/kept/ab12/changes.patch)",
    ]);
    expect(describeKeptWork({ ...base, patch: "/h/kept/ab12/changes.patch" }, "/src/app")).toEqual([
      "the agent's changes to your working tree as it was at start: /h/kept/ab12/changes.patch (git apply /h/kept/ab12/changes.patch)",
    ]);
  });

  it("says when there was nothing, and passes warnings on", () => {
    expect(describeKeptWork(base, "/src/app")).toEqual([
      "the agent left no commits and no changes in /src/app",
    ]);
    expect(describeKeptWork({ ...base, repoDir: null }, "/src/app")).toEqual([
      "the agent left nothing in ~/work",
    ]);
    expect(describeKeptWork({ ...base, warnings: ["the container is gone"] }, "/src/app")).toEqual([
      "warning: the container is gone",
    ]);
  });

  it("shows a renamed branch with the agent's own name, escaped", () => {
    expect(
      describeKeptWork(
        {
          ...base,
          branches: [
            {
              branch: "claude-bottle/ab12/fix-txt",
              agentName: "fix\u202Etxt\x1b]0;t\x07",
              renamed: true,
            },
          ],
        },
        "/src/app",
      ),
    ).toEqual([
      "the agent's commits: branch claude-bottle/ab12/fix-txt" +
        ' (renamed from the agent\'s unsafe name "fix\\u202etxt\\x1b]0;t\\x07")' +
        " in /src/app (git log claude-bottle/ab12/fix-txt)",
    ]);
  });

  it("quotes a branch whose valid name would run code when pasted", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
    const branch = "claude-bottle/ab12/fix$(touch${IFS}$HOME/x)";
    const [line] = describeKeptWork(
      { ...base, branches: [{ branch, agentName: branch, renamed: false }] },
      "/src/app",
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
    expect(line).toContain("(git log 'claude-bottle/ab12/fix$(touch${IFS}$HOME/x)')");
  });

  it("lets no raw control, bidi or invisible character through, from any field", () => {
    const hostile = ALL_HOSTILE;
    const lines = describeKeptWork(
      {
        repoDir: `/src/${hostile}`,
        dir: `/h/kept/${hostile}`,
        branches: [
          { branch: `claude-bottle/ab12/${hostile}`, agentName: hostile, renamed: true },
          { branch: `claude-bottle/ab12/${hostile}`, agentName: hostile, renamed: false },
        ],
        patch: `/h/kept/${hostile}/changes.patch`,
        workCopy: `/h/kept/${hostile}/work`,
        warnings: Object.values(HOSTILE_TEXT),
      },
      "/elsewhere",
    );
    expect(lines).toHaveLength(4 + Object.keys(HOSTILE_TEXT).length);
    for (const line of lines) expect(rawControlsIn(line)).toEqual([]);
  });

  it.skipIf(spawnSync("bash", ["-c", "exit 0"]).status !== 0)(
    "prints commands that, pasted into a shell, get exactly the branch and the patch path",
    () => {
      const branch = "claude-bottle/ab12/a'b;`id`$(id)\x1b[2J\u202E";
      const patch = "/h/kept/it's $HOME/changes.patch";
      const lines = describeKeptWork(
        { ...base, branches: [{ branch, agentName: branch, renamed: false }], patch },
        "/src/app",
      );
      const commands = lines.map((l) => /\((git .*)\)$/.exec(l)?.[1] ?? "");
      for (const [command, expected] of [
        [commands[0], ["git", "log", branch]],
        [commands[1], ["git", "apply", patch]],
      ] as const) {
        // Pasted on stdin, as a user would, with `git` replaced by printf to see the words.
        const pasted = `git() { printf '%s\\0' git "$@"; }\n${command}\n`;
        const r = spawnSync("bash", [], { input: pasted, encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.stdout.split("\0").slice(0, -1)).toEqual(expected);
      }
    },
  );
});
