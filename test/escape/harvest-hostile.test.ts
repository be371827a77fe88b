// What crosses back to the host at exit is the attacker's: the agent's work, written by the
// agent and by processes it leaves running while the CLI harvests. Each case runs as the
// agent user inside a real bottle, then checks the host: a watched sentinel tree (what the
// attacks aim their links at) is byte for byte as it was, the kept directory holds only
// regular files and directories, and the CLI's output holds no control character.
import { execFileSync } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { makeTestHome, slugOf, type TestHome } from "../support/cli/cli-process.js";
import { leftoversOf, nothingLeft } from "../support/docker/docker-state.js";
import { describeWithEngine } from "../support/docker/engine.js";

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

/** A new repository with one commit of a.txt, as a user's would be. */
async function userRepo(prefix: string): Promise<string> {
  const repo = await mkdtemp(join(tmpdir(), prefix));
  git(repo, "init", "-q", "-b", "main");
  await writeFile(join(repo, "a.txt"), "a\n");
  git(repo, "add", "-A");
  git(repo, "-c", "user.name=u", "-c", "user.email=u@example.test", "commit", "-qm", "a");
  return repo;
}

/** Every path below `dir` with its kind, mode and content. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, name);
    const info = await lstat(path);
    const kind = info.isFile()
      ? `file:${await readFile(path, "utf8")}`
      : info.isDirectory()
        ? "dir"
        : "other";
    out[name] = `${kind} ${(info.mode & 0o7777).toString(8)}`;
  }
  return out;
}

/** Everything below `dir` that is not a regular file or a directory. */
async function notPlain(dir: string): Promise<string[]> {
  const odd: string[] = [];
  for (const name of await readdir(dir, { recursive: true })) {
    const info = await lstat(join(dir, name));
    if (!info.isFile() && !info.isDirectory()) odd.push(name);
  }
  return odd;
}

// C0 but newline and tab, DEL, C1, bidi marks, overrides and isolates, zero-width characters.
const TERMINAL_CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u;

describeWithEngine("what the agent hands back at exit", () => {
  let t: TestHome;
  let sentinel: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    t = await makeTestHome();
    await t.writeManifest("bottles", "hv", "---\nsupervise: false\n---\n");
    await t.writeManifest("agents", "hv", "---\nbottle: hv\n---\nA test agent.\n");
    // What the attacks aim at: a host directory with keys, outside the kept directory.
    sentinel = await mkdtemp(join(tmpdir(), "cb-sentinel-"));
    await mkdir(join(sentinel, ".ssh", "keys"), { recursive: true });
    await writeFile(join(sentinel, ".ssh", "id_ed25519"), "host private key\n", { mode: 0o600 });
    await writeFile(join(sentinel, ".ssh", "keys", "deploy"), "deploy key\n");
    await writeFile(join(sentinel, "notes.txt"), "host notes\n");
    before = await snapshot(sentinel);
  });

  beforeEach(async () => {
    expect(await snapshot(sentinel)).toEqual(before);
  });

  afterAll(async () => {
    await t?.run(["cleanup", "--yes", "--all"]);
    await t?.dispose();
    if (sentinel) await rm(sentinel, { recursive: true, force: true });
  });

  it("keeps ~/work as plain files when there is no repository, and nothing else", async () => {
    // ~/work holds every kind of entry that is not a plain file; a process left behind keeps
    // swapping names for links to the host's sentinel while the CLI reads the work.
    const script = `
      set -e
      cd ~/work
      mkdir -p src deep/er locked
      echo 'export {}' > src/a.ts
      echo deep > deep/er/b.txt
      echo 'mine alone' > locked/secret.txt
      chmod 000 locked
      ln -s ${sentinel}/.ssh/id_ed25519 key-link
      ln -s ${sentinel}/.ssh dir-link
      ln -s /nonexistent/x dangling
      ln -s / root-link
      ln src/a.ts hard-link
      mkfifo fifo
      printf 'x' > "$(printf 'esc-\\033]0;pwned\\007')"
      printf 'x' > "$(printf 'new\\nline')"
      printf 'x' > "$(printf 'bidi-\\342\\200\\256txt.sh')"
      printf 'x' > '$(touch pwned);x'
      setsid sh -c 'while :; do
        for d in /tmp/claude-bottle-harvest*; do rm -rf "$d"; ln -sfn ${sentinel} "$d"; done
        ln -sfn ${sentinel} /tmp/claude-bottle-harvest
        rm -f ~/work/deep/er/b.txt; ln -sfn ${sentinel}/notes.txt ~/work/deep/er/b.txt
        sleep 0.01; done' </dev/null >/dev/null 2>&1 &
      sleep 0.5
      echo planted
    `;
    const r = await t.run(["start", "hv", "--yes", "--no-workdir", "--exec", script]);
    const slug = slugOf(r.stderr);
    expect(r.stdout).toContain("planted");
    expect(r.code).toBe(0);
    const kept = join(t.home, "kept", slug);
    const work = join(kept, "work");
    expect(r.stderr).toContain(`the agent's ~/work: ${work}`);
    expect(await notPlain(kept)).toEqual([]);
    expect(await readFile(join(work, "src", "a.ts"), "utf8")).toBe("export {}\n");
    // Root reads what the agent made unreadable: nothing of its work is silently short.
    expect(await readFile(join(work, "locked", "secret.txt"), "utf8")).toBe("mine alone\n");
    expect(await readFile(join(work, "$(touch pwned);x"), "utf8")).toBe("x");
    const names = (await readdir(work)).sort();
    // Both names of a hard-linked file are kept, each a file of its own.
    expect(await readFile(join(work, "hard-link"), "utf8")).toBe("export {}\n");
    for (const gone of ["key-link", "dir-link", "dangling", "root-link", "fifo"]) {
      expect(names).not.toContain(gone);
    }
    expect(names.filter((n) => TERMINAL_CONTROL.test(n) || n.includes("\n"))).toEqual([]);
    expect(r.stderr).toContain("a symbolic link: not kept");
    expect(r.stderr).toContain("a FIFO: not kept");
    expect(r.stderr).toContain("control, invisible or non-UTF-8 characters: not kept");
    expect(TERMINAL_CONTROL.test(r.stderr)).toBe(false);
    expect(await snapshot(sentinel)).toEqual(before);
    expect(leftoversOf(slug)).toEqual(nothingLeft());
  });

  it("keeps only the bundle and patch (or a plain copy) from a repository, however the agent swaps them", async () => {
    const repo = await userRepo("cb-hv-repo-");
    try {
      // Hostile names git accepts (shell syntax, a bidi override, a leading dash), and a
      // leftover process that swaps each harvest file for a link to the host's sentinel.
      const script = `
        set -e
        c() { git -c user.name=A -c user.email=a@example.test "$@"; }
        echo change >> a.txt
        c commit -qam 'agent work'
        git branch 'fix$(touch\${IFS}$HOME/pwned)'
        git branch "$(printf 'spoof-\\342\\200\\256txt')"
        git update-ref refs/heads/-rf HEAD
        head -c 30000000 /dev/urandom > big.bin
        echo more >> a.txt
        setsid sh -c 'while :; do
          for f in /tmp/claude-bottle-harvest*/*; do rm -f "$f"; ln -sfn ${sentinel}/.ssh/id_ed25519 "$f"; done
          ln -sfn ${sentinel} /tmp/claude-bottle-harvest
          sleep 0.005; done' </dev/null >/dev/null 2>&1 &
        echo planted
      `;
      const r = await t.run(["start", "hv", "--yes", "--workdir", repo, "--exec", script]);
      const slug = slugOf(r.stderr);
      expect(r.stdout).toContain("planted");
      const kept = join(t.home, "kept", slug);
      expect(await notPlain(kept).catch(() => [])).toEqual([]);
      // The bundle and the patch; or, when the swaps broke git's own run, ~/work copied as
      // plain files instead (nothing else, and no link anywhere in it, as checked above).
      for (const name of await readdir(kept).catch(() => [] as string[])) {
        expect(["work.bundle", "changes.patch", "work"]).toContain(name);
      }
      // Whatever the race made of the files, the host's own branches and files are untouched
      // and every branch it made has a safe name.
      expect(git(repo, "for-each-ref", "--format=%(refname)", "refs/heads/main")).toBe(
        "refs/heads/main",
      );
      for (const ref of git(repo, "for-each-ref", "--format=%(refname:short)").split("\n")) {
        expect(ref).toMatch(/^(main|claude-bottle\/[a-z0-9-]+\/[A-Za-z0-9_][A-Za-z0-9._/-]*)$/);
      }
      expect(TERMINAL_CONTROL.test(r.stderr)).toBe(false);
      expect(await snapshot(sentinel)).toEqual(before);
      expect(leftoversOf(slug)).toEqual(nothingLeft());
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it("renames hostile branch names on the host and shows the mapping, quoted", async () => {
    const repo = await userRepo("cb-hv-names-");
    try {
      const script = `
        set -e
        c() { git -c user.name=A -c user.email=a@example.test "$@"; }
        git checkout -qb 'fix$(touch\${IFS}$HOME/pwned)'
        echo change >> a.txt
        c commit -qam 'agent work'
        git branch "$(printf 'spoof-\\342\\200\\256txt')"
        git update-ref refs/heads/-rf HEAD
        git branch plain-topic
      `;
      const r = await t.run(["start", "hv", "--yes", "--workdir", repo, "--exec", script]);
      const slug = slugOf(r.stderr);
      expect(r.code).toBe(0);
      const made = git(
        repo,
        "for-each-ref",
        "--format=%(refname:short)",
        `refs/heads/claude-bottle/${slug}`,
      )
        .split("\n")
        .sort();
      expect(made).toHaveLength(4);
      expect(made).toContain(`claude-bottle/${slug}/plain-topic`);
      for (const ref of made) {
        expect(ref).toMatch(/^claude-bottle\/[a-z0-9-]+\/[A-Za-z0-9_][A-Za-z0-9._/-]*$/);
      }
      // Each renamed branch holds the agent's commit.
      for (const ref of made) expect(git(repo, "log", "-1", "--format=%s", ref)).toBe("agent work");
      // Every command it suggests names the branch by its safe name.
      for (const m of r.stderr.matchAll(/git (?:-C \S+ )?log (\S+)/g)) {
        expect(m[1]).toMatch(/^'?claude-bottle\/[a-z0-9-]+\/[A-Za-z0-9_][A-Za-z0-9._/-]*'?\)?$/);
      }
      expect(TERMINAL_CONTROL.test(r.stderr)).toBe(false);
      expect(r.stderr).toMatch(/renamed|agent's name/);
      expect(await snapshot(sentinel)).toEqual(before);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it("keeps ~/work as a directory when git cannot take the work out", async () => {
    const repo = await userRepo("cb-hv-nogit-");
    try {
      // A file git cannot read makes `git add -A` fail: the work must still come back.
      const script = `
        set -e
        echo 'agent change' >> a.txt
        echo 'new work' > new.txt
        echo 'unreadable' > locked.txt
        chmod 000 locked.txt
      `;
      const r = await t.run(["start", "hv", "--yes", "--workdir", repo, "--exec", script]);
      const slug = slugOf(r.stderr);
      expect(r.code).toBe(0);
      const work = join(t.home, "kept", slug, "work");
      expect(r.stderr).toContain("kept ~/work as a directory instead");
      expect(r.stderr).toContain(`the agent's ~/work: ${work}`);
      expect(await readFile(join(work, "a.txt"), "utf8")).toBe("a\nagent change\n");
      expect(await readFile(join(work, "new.txt"), "utf8")).toBe("new work\n");
      expect(await readFile(join(work, "locked.txt"), "utf8")).toBe("unreadable\n");
      // The copy is plain files, and its .git (whose config and hooks can run programs
      // wherever git runs) is renamed where git never looks for a repository.
      expect(await notPlain(join(t.home, "kept", slug))).toEqual([]);
      await expect(lstat(join(work, ".git"))).rejects.toThrow(/ENOENT/);
      expect((await lstat(join(work, ".git-from-bottle", "config"))).isFile()).toBe(true);
      expect(r.stderr).toContain("kept as .git-from-bottle, where git never reads it");
      expect(TERMINAL_CONTROL.test(r.stderr)).toBe(false);
      expect(leftoversOf(slug)).toEqual(nothingLeft());
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });

  it("stops at the size bound however the files hide their size, and keeps nothing partial", async () => {
    // 1.5 GiB of sparse file (a few KiB on disk) inside a directory the agent cannot read:
    // the host counts what arrives, so neither sparseness nor permissions shrink the count.
    const script = `
      set -e
      mkdir -p ~/work/hidden
      truncate -s 1536M ~/work/hidden/sparse
      echo small > ~/work/small.txt
      chmod 000 ~/work/hidden
      du -sk ~/work | cut -f1
    `;
    const r = await t.run(["start", "hv", "--yes", "--no-workdir", "--exec", script]);
    const slug = slugOf(r.stderr);
    expect(Number(r.stdout.trim())).toBeLessThan(1024);
    expect(r.stderr).toContain("bytes claude-bottle copies out: not kept");
    await expect(lstat(join(t.home, "kept", slug))).rejects.toThrow(/ENOENT/);
    expect(TERMINAL_CONTROL.test(r.stderr)).toBe(false);
    expect(await snapshot(sentinel)).toEqual(before);
    expect(leftoversOf(slug)).toEqual(nothingLeft());
  });
});
