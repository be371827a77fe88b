// Every way a bottle ends, and where the agent's work went: the program exits; `stop` and
// `cleanup --all` while its CLI is attached; one, two and three Ctrl-C; a closed terminal
// (SIGHUP) without and with --keep; the CLI SIGKILLed, then `resume` or `cleanup`; and a
// bottle with no repository, whose ~/work is kept as a copy. Each time the work is on the
// host (a branch, kept/<slug>/changes.patch, kept/<slug>/work) and nothing of the bottle is
// left on the engine.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureAgentPackage } from "../../src/agents/agent-package.js";
import { slugOf, type TestHome, writeAgentBottle } from "../support/cli/cli-process.js";
import { useTestHome } from "../support/cli/use-test-home.js";
import { leftoversOf, nothingLeft } from "../support/docker/docker-state.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { bottleYaml } from "../support/fixtures/bottle-yaml.js";
import { sharedAgentCache } from "../support/standins/model-standin/agent-run.js";

type Cli = ReturnType<TestHome["spawn"]>;

describeWithEngine("no work lost, however a bottle ends", () => {
  const t = useTestHome((home) =>
    writeAgentBottle(home, "we", bottleYaml({ allow: ["allowed.example.test"], supervise: false })),
  );
  let repo: string;

  beforeAll(async () => {
    repo = mkdtempSync(join(tmpdir(), "cb-work-ends-"));
    const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, stdio: "ignore" });
    git("init", "-q", "-b", "main");
    writeFileSync(join(repo, "README"), "the user's file\n");
    git("add", "README");
    git("-c", "user.name=u", "-c", "user.email=u@example.test", "commit", "-qm", "start");
  });

  afterAll(async () => {
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  /** A bottle on the repository whose agent has changed README, attached to `sleep`. */
  async function working(mark: string, flags: string[] = []): Promise<{ cli: Cli; slug: string }> {
    const cli = t.spawn([
      "start",
      "we",
      "--yes",
      "--workdir",
      repo,
      ...flags,
      "--exec",
      `echo ${mark} >> README && echo changed && sleep 3600`,
    ]);
    return { cli, slug: await running(cli) };
  }

  async function running(cli: Cli): Promise<string> {
    for (let i = 0; i < 960 && !cli.output().stderr.includes("running: "); i++) {
      if (cli.exitCode !== null) throw new Error(`start exited:\n${cli.output().stderr}`);
      await sleep(250);
    }
    // The program's first line: the change is made.
    for (let i = 0; i < 120 && !cli.output().stdout.includes("changed"); i++) await sleep(250);
    return slugOf(cli.output().stderr);
  }

  function exited(cli: Cli, ms = 120_000): Promise<number | null> {
    if (cli.exitCode !== null || cli.signalCode !== null) return Promise.resolve(cli.exitCode);
    return new Promise((resolve, reject) => {
      cli.once("exit", (code) => resolve(code));
      setTimeout(
        () => reject(new Error(`the CLI did not exit:\n${cli.output().stderr}`)),
        ms,
      ).unref();
    });
  }

  /** The kept patch holds the agent's change, the output names it, nothing is left running. */
  function expectKept(slug: string, mark: string, output: string): void {
    const patch = join(t.home, "kept", slug, "changes.patch");
    expect(existsSync(patch), output).toBe(true);
    expect(readFileSync(patch, "utf8")).toContain(`+${mark}`);
    expect(output).toContain(patch);
    expect(leftoversOf(slug)).toEqual(nothingLeft());
  }

  it("the program exits: its commits become a branch, its changes a patch", async () => {
    const r = await t.run([
      "start",
      "we",
      "--yes",
      "--workdir",
      repo,
      "--exec",
      "echo committed >> README && git -c user.name=a -c user.email=a@example.test commit -qam agent && echo exit-mark >> README",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const slug = slugOf(r.stderr);
    expectKept(slug, "exit-mark", r.stderr);
    const branches = execFileSync("git", ["branch", "--list", `claude-bottle/${slug}/*`], {
      cwd: repo,
      encoding: "utf8",
    });
    expect(branches).toContain(`claude-bottle/${slug}/`);
    expect(r.stderr).toContain(`claude-bottle/${slug}/`);
    // The dashboard's "ended" list reads this record: how it ended and where the work went.
    const ended = JSON.parse(readFileSync(join(t.home, "ended", `${slug}.json`), "utf8"));
    expect(ended).toMatchObject({ slug, agent: "we", how: "exited", exitCode: 0, by: "start" });
    expect(ended.work).toContain(`claude-bottle/${slug}/`);
  });

  it("`stop` while the CLI is attached keeps the work, and the CLI says so", async () => {
    const { cli, slug } = await working("stop-mark");
    const r = await t.run(["stop", slug]);
    expect(r.code, r.stderr).toBe(0);
    expectKept(slug, "stop-mark", r.stderr);
    await exited(cli);
    expect(cli.output().stderr).toContain(`bottle ${slug} was removed by `);
    expect(cli.output().stderr).toContain(`it is in ${join(t.home, "kept", slug)}`);
    expect(cli.output().stderr).not.toContain("could not collect");
    // The record says `stop` ended it; the attached CLI, finding it gone, does not overwrite it.
    const ended = JSON.parse(readFileSync(join(t.home, "ended", `${slug}.json`), "utf8"));
    expect(ended).toMatchObject({ slug, how: "stopped", by: "stop", exitCode: null });
    // A second stop is safe: it says the bottle is already removed, and succeeds.
    const again = await t.run(["stop", slug]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`bottle ${slug} is already removed (stopped by stop, `);
  });

  it("`cleanup --all --yes` while the CLI is attached keeps the work", async () => {
    const { cli, slug } = await working("cleanup-mark");
    const r = await t.run(["cleanup", "--all", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`removed ${slug}`);
    expectKept(slug, "cleanup-mark", r.stderr);
    await exited(cli);
  });

  describe.each([1, 2, 3])("Ctrl-C", (presses) => {
    it(`${presses} time(s): the work is kept and the bottle removed`, async () => {
      const mark = `ctrl-c-${presses}-mark`;
      const { cli, slug } = await working(mark);
      for (let i = 0; i < presses; i++) {
        cli.kill("SIGINT");
        // The next press lands while the work is being kept or the bottle removed.
        await sleep(700);
      }
      await exited(cli);
      const out = cli.output().stderr;
      expectKept(slug, mark, out);
      expect(out).toContain(`interrupted: keeping the agent's work, then removing bottle ${slug}`);
      if (presses > 1) expect(out).toContain("Ctrl-C does not interrupt its start or its removal");
    });
  });

  it("a closed terminal (SIGHUP) removes the bottle with its work kept", async () => {
    const { cli, slug } = await working("hangup-mark");
    cli.kill("SIGHUP");
    await exited(cli);
    expectKept(slug, "hangup-mark", cli.output().stderr);
  });

  it("with --keep, a closed terminal leaves the bottle for resume; stop then keeps the work", async () => {
    const { cli, slug } = await working("keep-mark", ["--keep"]);
    cli.kill("SIGHUP");
    await exited(cli);
    expect(cli.output().stderr).toContain(`bottle ${slug} is left running (--keep)`);
    expect(leftoversOf(slug).containers).toContain(`claude-bottle-agent-${slug}`);
    expect(existsSync(join(t.home, "kept", slug))).toBe(false);
    const r = await t.run(["stop", slug]);
    expect(r.code, r.stderr).toBe(0);
    expectKept(slug, "keep-mark", r.stderr);
  });

  it("the CLI SIGKILLed, then `resume`: the resumed CLI keeps the work", async () => {
    const { cli, slug } = await working("resume-mark");
    cli.kill("SIGKILL");
    await exited(cli);
    expect(leftoversOf(slug).containers.length).toBeGreaterThan(0);
    const r = await t.run(["resume", slug, "--exec", "true"]);
    expect(r.code, r.stderr).toBe(0);
    expectKept(slug, "resume-mark", r.stderr);
  });

  it("the CLI SIGKILLed, then `cleanup`: cleanup keeps the work", async () => {
    const { cli, slug } = await working("killed-mark");
    cli.kill("SIGKILL");
    await exited(cli);
    const r = await t.run(["cleanup", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expectKept(slug, "killed-mark", r.stderr);
  });

  it("--detach leaves the bottle running, cleanup keeps it, resume then keeps the work", async () => {
    // A detached bottle needs its program (resume attaches it): the cache the suite shares.
    const cache = { CLAUDE_BOTTLE_AGENT_CACHE: sharedAgentCache() };
    await ensureAgentPackage({ provider: "claude", home: t.home, env: cache, progress: () => {} });
    const started = await t.run(["start", "we", "--yes", "--workdir", repo, "--detach"], cache);
    expect(started.code, started.stderr).toBe(0);
    const slug = slugOf(started.stderr);
    expect(started.stderr).toContain(`bottle ${slug} is left running:`);
    expect(leftoversOf(slug).containers).toContain(`claude-bottle-agent-${slug}`);
    const cleanup = await t.run(["cleanup", "--yes"]);
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(cleanup.stderr).toContain("attached or detached bottle(s) kept");
    expect(leftoversOf(slug).containers).toContain(`claude-bottle-agent-${slug}`);
    const resumed = await t.run(["resume", slug, "--exec", "echo detached-mark >> README"], cache);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectKept(slug, "detached-mark", resumed.stderr);
  });

  it("outside a repository, the agent's ~/work is kept as a copy and the exit says where", async () => {
    const r = await t.run([
      "start",
      "we",
      "--yes",
      "--no-workdir",
      "--exec",
      "mkdir -p notes && echo no-repo-mark > notes/n.txt",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const slug = slugOf(r.stderr);
    const copy = join(t.home, "kept", slug, "work");
    expect(readFileSync(join(copy, "notes", "n.txt"), "utf8")).toBe("no-repo-mark\n");
    expect(r.stderr).toContain(copy);
    expect(leftoversOf(slug)).toEqual(nothingLeft());
  });
});
