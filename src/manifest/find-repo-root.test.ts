import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENTS } from "../../test/support/fixtures/user-home-fixture.js";
import { findRepoRoot } from "./find-repo-root.js";
import { loadAgent } from "./load-agent.js";

describe("findRepoRoot", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "claude-bottle-repo-root-"));
    // outer/ is a repository; outer/vendor/inner/ is another one inside it (a submodule).
    await mkdir(join(root, "outer/.git"), { recursive: true });
    await mkdir(join(root, "outer/src/deep/er"), { recursive: true });
    await mkdir(join(root, "outer/vendor/inner/lib"), { recursive: true });
    await writeFile(join(root, "outer/vendor/inner/.git"), "gitdir: ../../.git/modules/inner\n");
    await mkdir(join(root, "plain/sub"), { recursive: true });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("walks up from a subdirectory to the directory holding .git", async () => {
    expect(await findRepoRoot(join(root, "outer/src/deep/er"))).toBe(join(root, "outer"));
    expect(await findRepoRoot(join(root, "outer"))).toBe(join(root, "outer"));
  });

  it("stops at the nearest repository, never going on into the one around it", async () => {
    expect(await findRepoRoot(join(root, "outer/vendor/inner/lib"))).toBe(
      join(root, "outer/vendor/inner"),
    );
  });

  it("is the directory itself outside any repository", async () => {
    expect(await findRepoRoot(join(root, "plain/sub"))).toBe(join(root, "plain/sub"));
  });

  it("lets loadAgent find the repository's agent from a subdirectory", async () => {
    const home = join(root, "home");
    await mkdir(join(home, ".claude-bottle/bottles"), { recursive: true });
    await writeFile(join(home, ".claude-bottle/bottles/dev.md"), "---\nsupervise: false\n---\n");
    await mkdir(join(root, "outer", AGENTS), { recursive: true });
    await writeFile(join(root, "outer", AGENTS, "fix.md"), "---\nbottle: dev\n---\nFix it.\n");
    const repoDir = await findRepoRoot(join(root, "outer/src/deep"));
    const agent = await loadAgent("fix", { repoDir, env: { HOME: home } });
    expect(agent.source).toBe("repo");
    expect(agent.prompt).toBe("Fix it.");
    // From inside the submodule, the enclosing repository's agents are not in reach.
    const inner = await findRepoRoot(join(root, "outer/vendor/inner/lib"));
    await expect(loadAgent("fix", { repoDir: inner, env: { HOME: home } })).rejects.toThrow(
      /^no agent "fix"/,
    );
  });
});
