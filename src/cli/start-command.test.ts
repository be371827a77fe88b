// A malformed manifest is reported precisely, with exit code 2, before Docker is asked
// anything: nothing can have been started.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { cliHomePerTest, refusingDocker } from "../../test/support/unit/cli-home.js";
import { runCliWith } from "../../test/support/unit/run-cli.js";
import type { DockerClient } from "../backend/engine/docker-client.js";

describe("start with bad manifests", () => {
  const { root, home } = cliHomePerTest("cb-start-");
  const repo = () => join(root(), "repo");
  let calls: string[][];

  beforeEach(async () => {
    await mkdir(repo(), { recursive: true });
    calls = [];
  });

  function env(hostEnv: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { HOME: root(), CLAUDE_BOTTLE_HOME: home(), PATH: process.env.PATH ?? "", ...hostEnv };
  }

  async function start(agent: string, cwd = repo(), hostEnv: NodeJS.ProcessEnv = {}) {
    const docker: DockerClient = {
      run: async (args) => {
        calls.push([...args]);
        // Questions that start nothing are answered "no"; anything else must not come.
        const read = `${args[0]} ${args[1]}`;
        if (read === "version --format") return { exitCode: 0, stdout: "26.1.5\n", stderr: "" };
        if (read === "compose version") return { exitCode: 0, stdout: "2.26.1\n", stderr: "" };
        if (read === "info --format" || read === "image inspect") {
          return { exitCode: 1, stdout: "", stderr: "no" };
        }
        throw new Error("docker must not be called");
      },
    };
    const changes = { docker, cwd, env: env(hostEnv), stdinIsTty: false };
    return runCliWith(changes, "start", agent, "--yes");
  }

  /** Agent "a" on bottle "b" written as `bottle`; starting it must fail with exit code 2. */
  async function startRefused(bottle: string, hostEnv: NodeJS.ProcessEnv = {}) {
    await writeFile(join(home(), "agents/a.md"), agent("b"));
    await writeFile(join(home(), "bottles/b.md"), bottle);
    const { code, stderr } = await start("a", repo(), hostEnv);
    expect(code).toBe(2);
    return stderr;
  }

  const agent = (bottle: string) => `---\nbottle: ${bottle}\n---\nprompt\n`;

  it("refuses an unknown --backend before it looks for the agent", async () => {
    const changes = { docker: refusingDocker(calls), cwd: repo(), env: env(), stdinIsTty: false };
    const { code, stderr } = await runCliWith(
      changes,
      "start",
      "no-such-agent",
      "--backend",
      "nope",
    );
    expect(code).toBe(2);
    expect(stderr.split("\n")[0]).toBe('claude-bottle: unknown backend "nope"');
    expect(calls).toEqual([]);
  });

  it("reports an unknown key with a suggestion and touches nothing", async () => {
    const stderr = await startRefused("---\negres:\n  allow: [example.test]\n---\n");
    expect(stderr.split("\n")[0]).toBe(
      'claude-bottle: ~/home/bottles/b.md:2:1: egres: unknown key "egres" (did you mean "egress"?)',
    );
    expect(calls).toEqual([]);
  });

  it("refuses a bottle shipped inside the repository and touches nothing", async () => {
    await mkdir(join(repo(), ".claude-bottle/bottles"), { recursive: true });
    await writeFile(
      join(repo(), ".claude-bottle/bottles/evil.md"),
      "---\negress:\n  allow: [attacker.test]\n---\n",
    );
    const stderr = await startRefused("---\nsupervise: false\n---\n");
    expect(stderr).toContain("~/repo/.claude-bottle/bottles/evil.md");
    expect(calls).toEqual([]);
  });

  it("prints the preflight and the compose file on --dry-run without calling Docker", async () => {
    await writeFile(join(home(), "agents/a.md"), agent("b"));
    await writeFile(
      join(home(), "bottles/b.md"),
      "---\negress:\n  allow: [example.test]\nsupervise: false\n---\n",
    );
    const { code, stdout } = await runCliWith(
      { docker: refusingDocker(calls), cwd: repo(), env: env(), stdinIsTty: false },
      "start",
      "a",
      "--dry-run",
    );
    expect(code).toBe(0);
    expect(stdout).toContain("hosts     example.test\n");
    expect(stdout).toContain(
      "runtime   claude-bottle/agent:0.1.0, runtime not probed in a dry run\n",
    );
    expect(stdout).toMatch(/\nname: claude-bottle-a-[0-9a-f]{8}\nservices:\n {2}pipelock:/);
    expect(calls).toEqual([]);
  });

  it("reports an extends cycle and touches nothing", async () => {
    await writeFile(join(home(), "bottles/c.md"), "---\nextends: b\n---\n");
    const stderr = await startRefused("---\nextends: c\n---\n");
    expect(stderr).toContain("cycle");
    expect(calls).toEqual([]);
  });

  it("finds the repository's agent from a subdirectory, and refuses an oversized one", async () => {
    await mkdir(join(repo(), ".git"));
    await mkdir(join(repo(), "src/deep"), { recursive: true });
    await mkdir(join(repo(), ".claude-bottle/agents"), { recursive: true });
    await writeFile(
      join(repo(), ".claude-bottle/agents/big.md"),
      `---\nbottle: b\n---\n${"x".repeat(300_000)}\n`,
    );
    const { code, stderr } = await start("big", join(repo(), "src/deep"));
    expect(code).toBe(2);
    expect(stderr).toBe(
      "claude-bottle: ~/repo/.claude-bottle/agents/big.md: 300019 bytes, over the 262144 bytes (256 KiB) a manifest may have\n" +
        "  hint: a manifest is written by hand and is a few KiB at most; shorten it, or check that this is the file you meant\n",
    );
    expect(calls).toEqual([]);
  });

  it("refuses an env value too big for a program's environment, at its key", async () => {
    const stderr = await startRefused(`---\nenv:\n  NOTES: "${"word ".repeat(40_000)}"\n---\n`);
    expect(stderr.split("\n")[0]).toBe(
      "claude-bottle: ~/home/bottles/b.md:3:3: env.NOTES: the value is 200000 bytes; an environment variable may hold at most 65536 (Linux will not start a program with a larger one): put the text in a file in the repository and point at it",
    );
    expect(calls).toEqual([]);
  });

  it("refuses a host variable too big to pass on, before anything starts", async () => {
    const stderr = await startRefused("---\nenv:\n  NOTES: {from_env: BIG_NOTES}\n---\n", {
      BIG_NOTES: "x".repeat(200_000),
    });
    expect(stderr).toContain(
      "host variable BIG_NOTES, which bottle ~/home/bottles/b.md passes on, is 200000 bytes; an environment variable may hold at most 65536",
    );
    expect(stderr).toContain(
      "hint: Linux will not start a program with a larger one: export a shorter BIG_NOTES",
    );
    // Only questions were asked of the engine: nothing was created.
    const questions = ["version --format", "compose version", "info --format", "image inspect"];
    expect(calls.map((c) => `${c[0]} ${c[1]}`).filter((c) => !questions.includes(c))).toEqual([]);
  });
});

describe("start --help on how a bottle ends", () => {
  const { root, home } = cliHomePerTest("cb-detach-");

  async function help(command: string): Promise<string> {
    const { stdout, stderr } = await runCliWith({}, command, "--help");
    return `${stdout}${stderr}`.replace(/\s+/g, " ");
  }

  it("says when a bottle outlives its terminal, and that the work is kept at every end", async () => {
    const text = await help("start");
    expect(text).toContain("--detach");
    expect(text).toContain(
      "If this terminal goes away (SIGHUP) the bottle is removed too, its work kept, unless it was started with --keep",
    );
    expect(text).toContain("`stop`, `cleanup`, Ctrl-C and a closed terminal keep the work");
    expect(text).toContain("CLAUDE_BOTTLE_STOP_TIMEOUT");
    expect(await help("resume")).toContain("--keep");
    expect(await help("stop")).toContain("Ctrl-C does not interrupt it");
  });

  it("refuses --detach with --exec, naming the way that works", async () => {
    await writeFile(join(home(), "agents/a.md"), "---\nbottle: b\n---\nprompt\n");
    await writeFile(join(home(), "bottles/b.md"), "---\nsupervise: false\n---\n");
    const changes = {
      cwd: root(),
      env: { HOME: root(), CLAUDE_BOTTLE_HOME: home(), PATH: process.env.PATH ?? "" },
      stdinIsTty: false,
    };
    const { code, stderr } = await runCliWith(
      changes,
      ...["start", "a", "--yes", "--dry-run", "--detach", "--exec", "true", "--no-workdir"],
    );
    expect(stderr).toContain("--detach and --exec do not go together");
    expect(code).toBe(2);
  });
});
