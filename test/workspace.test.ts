// The agent's work survives the bottle: `start --workdir` (here a subdirectory of a
// repository) copies the repository in, uncommitted changes included and the host's
// credentials, hooks and ignored files left out; a headless run commits and leaves changes;
// after exit the commits are a branch in the host repository and the rest a patch beside it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { slugOf, writeAgentBottle } from "./support/cli/cli-process.js";
import { useTestHome } from "./support/cli/use-test-home.js";
import { leftoversOf, nothingLeft } from "./support/docker/docker-state.js";
import { describeWithEngine } from "./support/docker/engine.js";

const CREDENTIAL = "cbtest-workspace-credential-5d1e";

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

describeWithEngine("the agent's workspace", () => {
  const t = useTestHome((home) => writeAgentBottle(home, "ws", "supervise: false"));
  let repo: string;
  let hostMain: string;

  beforeAll(async () => {
    repo = await mkdtemp(join(tmpdir(), "cb-ws-repo-"));
    git(repo, "init", "-q", "-b", "main");
    git(repo, "config", "user.name", "Host User");
    git(repo, "config", "user.email", "host@example.test");
    await writeFile(join(repo, "README.md"), "# app\n");
    await writeFile(join(repo, "tracked.txt"), "committed\n");
    await writeFile(join(repo, "deleted.txt"), "to be deleted\n");
    await writeFile(join(repo, ".gitignore"), "*.log\n");
    await mkdir(join(repo, "lib"));
    await writeFile(join(repo, "lib", "code.js"), "export {};\n");
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "first");
    git(repo, "branch", "feature");
    hostMain = git(repo, "rev-parse", "main");
    // What the host holds that the agent must not get, and uncommitted work it must.
    git(repo, "remote", "add", "origin", `https://user:${CREDENTIAL}@git.example.test/app.git`);
    git(repo, "config", "http.extraHeader", `Authorization: Bearer ${CREDENTIAL}`);
    await writeFile(join(repo, ".git", "hooks", "post-checkout"), "#!/bin/sh\necho hook-ran\n");
    await writeFile(join(repo, "tracked.txt"), "uncommitted edit\n");
    await rm(join(repo, "deleted.txt"));
    await writeFile(join(repo, "untracked.txt"), "new file\n");
    await writeFile(join(repo, "debug.log"), `ignored ${CREDENTIAL}\n`);
    await symlink("/etc/hostname", join(repo, "outside-link"));
  });

  afterAll(async () => {
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  it("copies the repository in and keeps the agent's commits and changes after exit", async () => {
    const script = [
      "set -e",
      'echo "pwd=$(pwd)"',
      'echo "branch=$(git symbolic-ref --short HEAD)"',
      'echo "branches=$(git branch --format="%(refname:short)" | sort | tr "\\n" ,)"',
      'echo "tracked=$(cat tracked.txt)"',
      'echo "untracked=$(cat untracked.txt)"',
      'echo "code=$(cat lib/code.js)"',
      "test -e deleted.txt && echo deleted=present || echo deleted=gone",
      "test -e debug.log && echo ignored=present || echo ignored=absent",
      'echo "link=$(readlink outside-link)"',
      'echo "origin=$(git config --get remote.origin.url)"',
      "echo hooks=$(ls .git/hooks | grep -vc sample || true)",
      `echo "credential-hits=$(grep -rl ${CREDENTIAL} ~ /tmp 2>/dev/null | wc -l)"`,
      'echo "status=$(git status --porcelain | sort | tr "\\n" ,)"',
      // The agent's work: a commit of everything, a second branch, then more changes.
      "git add -A",
      "git -c user.name=Agent -c user.email=agent@example.test commit -qm 'agent work'",
      "git branch agent-topic",
      'echo "more" >> README.md',
      'echo "scratch" > notes.txt',
      "exit 3",
    ].join("\n");
    const result = await t.run([
      "start",
      "ws",
      "--yes",
      "--workdir",
      join(repo, "lib"),
      "--exec",
      script,
    ]);
    const slug = slugOf(result.stderr);
    const out = result.stdout;
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`workspace ${repo} (branch main)`);
    for (const line of [
      "pwd=/home/agent/work\n",
      "branch=main\n",
      "branches=feature,main,\n",
      "tracked=uncommitted edit\n",
      "untracked=new file\n",
      "code=export {};\n",
      "deleted=gone\n",
      "ignored=absent\n",
      "link=/etc/hostname\n",
      "origin=https://git.example.test/app.git\n",
      "hooks=0\n",
      "credential-hits=0\n",
    ]) {
      expect(out).toContain(line);
    }
    expect(out).toContain(
      "status= D deleted.txt, M tracked.txt,?? outside-link,?? untracked.txt,\n",
    );

    // The commits: branches of their own in the host repository; the host's main untouched.
    const kept = `claude-bottle/${slug}`;
    expect(result.stderr).toContain(`branch ${kept}/main in `);
    expect(result.stderr).toContain(`branch ${kept}/agent-topic in `);
    expect(git(repo, "rev-parse", "main")).toBe(hostMain);
    expect(git(repo, "log", "-1", "--format=%s %an", `${kept}/main`)).toBe("agent work Agent");
    expect(git(repo, "rev-parse", `${kept}/main^`)).toBe(hostMain);
    expect(git(repo, "show", `${kept}/main:tracked.txt`)).toBe("uncommitted edit");
    expect(git(repo, "show", `${kept}/main:untracked.txt`)).toBe("new file");
    expect(git(repo, "branch", "--list", `${kept}/feature`)).toBe("");
    // The host's working tree is as it was.
    expect(await readFile(join(repo, "tracked.txt"), "utf8")).toBe("uncommitted edit\n");

    // The patch is the agent's alone: from the tree it received (the user's own uncommitted
    // edits included) to the tree it left, so it applies to the user's working tree as it
    // was at start, and holds none of the user's own changes.
    const patch = join(t.home, "kept", slug, "changes.patch");
    expect(result.stderr).toContain(patch);
    const text = await readFile(patch, "utf8");
    expect(text).toContain("+more");
    expect(text).toContain("+scratch");
    expect(text).not.toContain("tracked.txt");
    expect(text).not.toContain("untracked.txt");
    expect(text).not.toContain("deleted.txt");
    git(repo, "apply", "--check", patch);
    const check = await mkdtemp(join(tmpdir(), "cb-ws-check-"));
    try {
      git(repo, "worktree", "add", "-q", check, `${kept}/main`);
      git(check, "apply", "--check", patch);
    } finally {
      git(repo, "worktree", "remove", "--force", check);
    }
    expect(leftoversOf(slug)).toEqual(nothingLeft());
  });

  it("gives an empty ~/work with --no-workdir, and refuses a --workdir outside any repository", async () => {
    const empty = await t.run(["start", "ws", "--yes", "--no-workdir", "--exec", "ls -A | wc -l"]);
    expect(empty.code).toBe(0);
    expect(empty.stdout.trim()).toBe("0");
    expect(empty.stderr).toContain("workspace none");

    const outside = await mkdtemp(join(tmpdir(), "cb-ws-plain-"));
    try {
      const refused = await t.run(["start", "ws", "--yes", "--workdir", outside, "--exec", "true"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`--workdir ${outside} is not inside a git repository`);
      expect(refused.stderr).not.toContain("    at ");
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("brings the bottle down when a step after up fails, and says what failed", async () => {
    // A repository with a missing object: bundling it fails once the bottle is already up.
    const broken = await mkdtemp(join(tmpdir(), "cb-ws-broken-"));
    try {
      git(broken, "init", "-q", "-b", "main");
      await writeFile(join(broken, "a.txt"), "a\n");
      git(broken, "add", "a.txt");
      git(broken, "-c", "user.name=u", "-c", "user.email=u@example.test", "commit", "-qm", "a");
      const blob = git(broken, "rev-parse", "HEAD:a.txt");
      await rm(join(broken, ".git", "objects", blob.slice(0, 2), blob.slice(2)));
      const r = await t.run(["start", "ws", "--yes", "--workdir", broken, "--exec", "echo ran"]);
      const slug = slugOf(r.stderr);
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toContain("ran");
      expect(r.stderr).toContain("starting bottle");
      expect(r.stderr).toContain("git bundle create");
      expect(r.stderr).toContain(`removing bottle ${slug}`);
      expect(r.stderr).not.toContain("    at ");
      expect(leftoversOf(slug)).toEqual(nothingLeft());
      expect(existsSync(join(t.home, "state", slug))).toBe(false);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });
});
