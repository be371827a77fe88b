import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirPerTest } from "../../../test/support/unit/temp-dir.js";
import {
  fetchAgentBranches,
  isValidBranchName,
  publicRemoteUrl,
  safeBranchName,
} from "./workspace.js";

const gitIn = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

/** A new repository at `dir` with one commit of `file` holding `text`. */
async function repoWithCommit(dir: string, file: string, text: string): Promise<string> {
  await mkdir(dir);
  gitIn(dir, "init", "-q", "-b", "main");
  await writeFile(join(dir, file), text);
  gitIn(dir, "add", "-A");
  gitIn(dir, "-c", "user.name=U", "-c", "user.email=u@example.test", "commit", "-qm", file);
  return gitIn(dir, "rev-parse", "HEAD");
}

describe("publicRemoteUrl", () => {
  /** A remote URL and what the bottle may be told of it; null: it means nothing inside. */
  const shown: Record<string, string | null> = {
    "https://user:s3cret@github.com/o/r.git": "https://github.com/o/r.git",
    "https://ghp_token123@github.com/o/r.git": "https://github.com/o/r.git",
    "http://x-access-token:abc@git.example.test/r": "http://git.example.test/r",
    "https://github.com/o/r.git": "https://github.com/o/r.git",
    "ssh://git@git.example.test:2222/o/r.git": "ssh://git@git.example.test:2222/o/r.git",
    "ssh://git:pw@git.example.test/o/r.git": "ssh://git@git.example.test/o/r.git",
    "git@github.com:o/r.git": "git@github.com:o/r.git",
    "git:pw@github.com:o/r.git": "github.com:o/r.git",
    "/srv/git/r.git": null,
    "../r.git": null,
    "file:///srv/git/r.git": null,
    "https://[bad": null,
  };

  it.each(Object.entries(shown))("%s -> %s", (url, expected) => {
    expect(publicRemoteUrl(url)).toBe(expected);
  });
});

describe("isValidBranchName", () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a branch name that holds shell syntax
  it.each(["main", "fix/a-b_c.d", "fix$(touch${IFS}x)", "fix`id`", "f\u202eoo", "-rf", "a;b"])(
    "accepts %j, as git does",
    (name) => {
      expect(isValidBranchName(name)).toBe(true);
    },
  );

  it.each([
    "",
    "a..b",
    "a b",
    "a:b",
    "a\\b",
    "a\nb",
    "a\u001bb",
    ".a",
    "a/.b",
    "a.lock",
    "a/",
    "a//b",
    "a@{1}",
    "a~1",
    "a^",
    "a?",
    "a*",
    "a[b",
    "a.",
  ])("refuses %j, as git does", (name) => {
    expect(isValidBranchName(name)).toBe(false);
  });
});

describe("safeBranchName", () => {
  it("keeps plain names", () => {
    expect(safeBranchName("feature/add-x_1.2")).toEqual({
      name: "feature/add-x_1.2",
      renamed: false,
    });
  });

  it.each([
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a branch name that holds shell syntax
    "fix$(touch${IFS}$HOME/x)",
    "fix`id`",
    "a;rm -rf ~",
    "it's",
    "f\u202eoo",
    "caf\u00e9",
    "x/-rf",
    "x/.hidden",
  ])(
    "renames %j to letters, digits and . _ - / only, with no part that starts with - or .",
    (name) => {
      const { name: safe, renamed } = safeBranchName(name);
      expect(renamed).toBe(true);
      expect(safe).toMatch(/^[A-Za-z0-9._/-]+$/);
      for (const part of safe.split("/")) expect(part).toMatch(/^[A-Za-z0-9_]/);
      expect(isValidBranchName(safe)).toBe(true);
    },
  );

  it("keeps two names that clean up alike apart", () => {
    expect(safeBranchName("a$b").name).not.toBe(safeBranchName("a`b").name);
  });
});

describe("fetchAgentBranches", () => {
  const run = gitIn;
  const root = tempDirPerTest("cb-bundle-");

  /** A real bundle of a repository's main, its header rewritten to list `names` instead. */
  async function craftedBundle(names: string[]): Promise<{ bundle: string; sha: string }> {
    const agent = join(root(), "agent");
    const sha = await repoWithCommit(agent, "a.txt", "agent\n");
    const real = join(root(), "real.bundle");
    run(agent, "bundle", "create", "-q", real, "main");
    const bytes = await readFile(real);
    const headerEnd = bytes.indexOf("\n\n") + 2;
    const header = `# v2 git bundle\n${names.map((n) => `${sha} refs/heads/${n}\n`).join("")}\n`;
    const bundle = join(root(), "crafted.bundle");
    await writeFile(bundle, Buffer.concat([Buffer.from(header), bytes.subarray(headerEnd)]));
    return { bundle, sha };
  }

  it("leaves out names git refuses, renames hostile ones, and touches no branch of the host's", async () => {
    const hostile = [
      "\u001b]0;pwned\u0007",
      "a:refs/heads/main",
      "../../config",
      "main",
      "-rf",
      "fix$(id)",
      "spoof-\u202etxt",
    ];
    const { bundle, sha } = await craftedBundle(hostile);
    const host = join(root(), "host");
    const hostMain = await repoWithCommit(host, "h.txt", "host\n");
    const ws = {
      repoDir: host,
      branch: "main",
      head: hostMain,
      branchTips: { main: hostMain },
      originUrl: null,
    };
    const { branches, warnings } = await fetchAgentBranches(ws, bundle, "s-1");
    expect(warnings).toEqual([
      `the agent's branch "${hostile[0]}" is no name git accepts: not kept`,
      `the agent's branch "a:refs/heads/main" is no name git accepts: not kept`,
      `the agent's branch "../../config" is no name git accepts: not kept`,
    ]);
    expect(branches.map((b) => b.agentName)).toEqual([
      "main",
      "-rf",
      "fix$(id)",
      "spoof-\u202etxt",
    ]);
    expect(branches.filter((b) => b.renamed).map((b) => b.agentName)).toEqual([
      "-rf",
      "fix$(id)",
      "spoof-\u202etxt",
    ]);
    for (const b of branches) {
      expect(b.branch).toMatch(/^claude-bottle\/s-1\/[A-Za-z0-9_][A-Za-z0-9._-]*$/);
      expect(run(host, "rev-parse", b.branch)).toBe(sha);
    }
    expect(run(host, "rev-parse", "main")).toBe(hostMain);
    expect(run(host, "for-each-ref", "--format=%(refname)").split("\n").sort()).toEqual(
      ["refs/heads/main", ...branches.map((b) => `refs/heads/${b.branch}`)].sort(),
    );
  });
});

describe("fetchAgentBranches: object checks", () => {
  const run = gitIn;
  const root = tempDirPerTest("cb-bundle-fsck-");

  async function hostRepo(): Promise<{ host: string; head: string }> {
    const host = join(root(), "host");
    return { host, head: await repoWithCommit(host, "h.txt", "host\n") };
  }

  it("refuses a bundle holding a malformed commit, and the host repository gets none of it", async () => {
    const agent = join(root(), "agent");
    await repoWithCommit(agent, "a.txt", "a\n");
    const tree = run(agent, "write-tree");
    // A commit whose author line git's fsck rejects (no email), written around git's checks.
    const bad = execFileSync(
      "git",
      ["hash-object", "-t", "commit", "--literally", "-w", "--stdin"],
      {
        cwd: agent,
        input: `tree ${tree}\nauthor Mallory 1700000000 +0000\ncommitter Mallory <m@example.test> 1700000000 +0000\n\nbad\n`,
        encoding: "utf8",
      },
    ).trim();
    run(agent, "update-ref", "refs/heads/main", bad);
    const bundle = join(root(), "bad.bundle");
    run(agent, "bundle", "create", "-q", bundle, "main");
    const { host, head } = await hostRepo();
    const ws = { repoDir: host, branch: "main", head, branchTips: { main: head }, originUrl: null };
    await expect(fetchAgentBranches(ws, bundle, "s-1")).rejects.toThrow(
      /the agent's commits fail git's object checks/,
    );
    expect(run(host, "for-each-ref", "--format=%(refname)")).toBe("refs/heads/main");
    expect(() => run(host, "cat-file", "-e", bad)).toThrow();
  });

  it("refuses a thin bundle, which leans on objects it does not carry", async () => {
    const agent = join(root(), "agent");
    await repoWithCommit(agent, "a.txt", "1\n");
    await writeFile(join(agent, "a.txt"), "2\n");
    run(agent, "-c", "user.name=A", "-c", "user.email=a@example.test", "commit", "-qam", "2");
    const bundle = join(root(), "thin.bundle");
    run(agent, "bundle", "create", "-q", bundle, "main~1..main");
    const { host, head } = await hostRepo();
    const ws = { repoDir: host, branch: "main", head, branchTips: { main: head }, originUrl: null };
    await expect(fetchAgentBranches(ws, bundle, "s-1")).rejects.toThrow(/thin bundle/);
  });
});
