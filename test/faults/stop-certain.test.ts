// `stop` is certain: each step of it made slow or failing in turn (an engine slow to answer,
// `compose down` that never returns, an engine that refuses to remove, the attached CLI
// stuck, two stops at once, a program that ignores SIGTERM), and the bottle is gone within
// the bound with the right exit code, or the exit code says what is left, by name. A bottle
// left running holds its route token in egress and pipelock: the worst way for stop to fail.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type CliResult,
  slugOf,
  type TestHome,
  writeAgentBottle,
} from "../support/cli/cli-process.js";
import { useTestHome } from "../support/cli/use-test-home.js";
import { leftoversOf, nothingLeft } from "../support/docker/docker-state.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { ON_SWARM } from "../support/docker/test-backend.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";

const TOKEN = "cbtest-stop-route-token-51c0e2";
/** CLAUDE_BOTTLE_STOP_TIMEOUT for the stops under test: 40 s in all, 10 s for compose down. */
const BOUND_S = 40;
/** Listing the bottles before the stop, and the process itself, on a busy machine. */
const SLACK_MS = 20_000;

const ROUTED = routedBottle({
  allow: ["allowed.example.test"],
  route: "api.example.test",
  token: TOKEN,
});

type Cli = ReturnType<TestHome["spawn"]>;

describeWithEngine("stop is certain", () => {
  const t = useTestHome((home) => writeAgentBottle(home, "sc", ROUTED.bottle));
  let wrappers: string;
  const realDocker = execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();

  /** A `docker` earlier on PATH: `body` is shell that runs before (or instead of) the real one. */
  function dockerWrapper(name: string, body: string): NodeJS.ProcessEnv {
    const dir = join(wrappers, name);
    execFileSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "docker"), `#!/bin/sh\n${body}\nexec ${realDocker} "$@"\n`);
    chmodSync(join(dir, "docker"), 0o755);
    return { PATH: `${dir}:${process.env.PATH}` };
  }

  beforeAll(async () => {
    wrappers = mkdtempSync(join(tmpdir(), "cb-docker-wrappers-"));
  });

  afterAll(async () => {
    rmSync(wrappers, { recursive: true, force: true });
  });

  /** A bottle whose CLI is attached to `program`, once the program runs. */
  async function attached(program = "sleep 3600"): Promise<{ cli: Cli; slug: string }> {
    const cli = t.spawn(["start", "sc", "--yes", "--exec", program], ROUTED.env);
    for (let i = 0; i < 960 && !cli.output().stderr.includes("running: "); i++) {
      if (cli.exitCode !== null) throw new Error(`start exited:\n${cli.output().stderr}`);
      await sleep(250);
    }
    return { cli, slug: slugOf(cli.output().stderr) };
  }

  /** `stop` (or `args`) with `env`, timed. */
  async function timed(
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): Promise<CliResult & { ms: number }> {
    const started = Date.now();
    const r = await t.run(args, { CLAUDE_BOTTLE_STOP_TIMEOUT: String(BOUND_S), ...env });
    return { ...r, ms: Date.now() - started };
  }

  function exited(cli: Cli, ms = 60_000): Promise<boolean> {
    if (cli.exitCode !== null || cli.signalCode !== null) return Promise.resolve(true);
    return new Promise((resolve) => {
      cli.once("exit", () => resolve(true));
      setTimeout(() => resolve(false), ms).unref();
    });
  }

  /** The route token sits in egress's environment while the bottle is up. */
  function tokenHeld(slug: string): boolean {
    try {
      const env = execFileSync(
        "docker",
        ["inspect", "-f", "{{json .Config.Env}}", `claude-bottle-egress-${slug}`],
        { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
      );
      return env.includes(TOKEN);
    } catch {
      return false;
    }
  }

  it.skipIf(ON_SWARM)(
    "removes the bottle within the bound when the engine is slow to answer every call",
    async () => {
      const { cli, slug } = await attached();
      expect(tokenHeld(slug)).toBe(true);
      const r = await timed(["stop", slug], dockerWrapper("slow", "sleep 2"));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`stopped ${slug}`);
      expect(r.ms).toBeLessThan(BOUND_S * 1000 + SLACK_MS);
      expect(leftoversOf(slug)).toEqual(nothingLeft());
      expect(await exited(cli)).toBe(true);
    },
  );

  it.skipIf(ON_SWARM)("forces the removal when `compose down` never returns", async () => {
    const { cli, slug } = await attached();
    const hang = dockerWrapper("compose-hangs", '[ "$1" = compose ] && exec sleep 3600');
    const r = await timed(["stop", slug], hang);
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeLessThan(BOUND_S * 1000 + SLACK_MS);
    // compose down got its quarter of the bound, no more, and the forced removal did the rest.
    expect(r.ms).toBeGreaterThanOrEqual((BOUND_S * 1000) / 4);
    expect(leftoversOf(slug)).toEqual(nothingLeft());
    expect(tokenHeld(slug)).toBe(false);
    // No `compose down` is left behind either: it was killed with its process group.
    const procs = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
    expect(procs).not.toContain(`compose-hangs/docker compose -p claude-bottle-${slug}`);
    expect(await exited(cli)).toBe(true);
  });

  it.skipIf(ON_SWARM)(
    "names what is left, with exit code 1, when the engine refuses to remove it",
    async () => {
      const { cli, slug } = await attached();
      const refuse = dockerWrapper(
        "refuses",
        'case "$1 $2" in "compose "*|"rm "*|"network rm") echo "refused by the test" >&2; exit 1;; esac',
      );
      const r = await timed(["stop", slug], { ...refuse, CLAUDE_BOTTLE_STOP_TIMEOUT: "12" });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`bottle ${slug} is not fully removed; still there: `);
      expect(r.stderr).toContain(`container claude-bottle-agent-${slug}`);
      expect(r.stderr).toContain(`network claude-bottle-${slug}-internal`);
      expect(r.stderr).not.toContain("    at ");
      // The state is kept for the next try, which the real engine then finishes.
      const again = await timed(["stop", slug]);
      expect(again.code, again.stderr).toBe(0);
      expect(leftoversOf(slug)).toEqual(nothingLeft());
      expect(await exited(cli)).toBe(true);
    },
  );

  it("removes the bottle while its attached CLI is stuck, which then says who removed it", async () => {
    const { cli, slug } = await attached();
    const pid = cli.pid as number;
    process.kill(pid, "SIGSTOP");
    try {
      const r = await timed(["stop", slug]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.ms).toBeLessThan(BOUND_S * 1000 + SLACK_MS);
      expect(leftoversOf(slug)).toEqual(nothingLeft());
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect(await exited(cli)).toBe(true);
    expect(cli.output().stderr).toContain(`bottle ${slug} was removed by `);
    expect(cli.output().stderr).not.toContain("could not collect");
  });

  it("takes two stops at once: both succeed, the bottle is gone once", async () => {
    const { cli, slug } = await attached();
    const [a, b] = await Promise.all([timed(["stop", slug]), timed(["stop", slug])]);
    expect([a.code, b.code], `${a.stderr}\n---\n${b.stderr}`).toEqual([0, 0]);
    expect(Math.max(a.ms, b.ms)).toBeLessThan(BOUND_S * 1000 + SLACK_MS);
    expect(leftoversOf(slug)).toEqual(nothingLeft());
    expect(await exited(cli)).toBe(true);
    // A third finds it already removed, says so, and succeeds: stop is safe to run again.
    const c = await t.run(["stop", slug]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toContain(`bottle ${slug} is already removed (`);
    // A slug that never existed is still an error.
    const d = await t.run(["stop", `${slug}-never`]);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain(`no bottle "${slug}-never"`);
  });

  it("stops a program that ignores SIGTERM (and the agent's PID 1 ignores it too)", async () => {
    const { cli, slug } = await attached("trap '' TERM; while :; do sleep 1; done");
    const r = await timed(["stop", slug]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeLessThan(BOUND_S * 1000 + SLACK_MS);
    expect(leftoversOf(slug)).toEqual(nothingLeft());
    expect(await exited(cli)).toBe(true);
  });

  it.skipIf(ON_SWARM)(
    "never leaves the attached `docker exec` running when its CLI is SIGKILLed",
    async () => {
      const { cli, slug } = await attached();
      const execs = () =>
        execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
          .split("\n")
          .filter((l) => l.includes("exec") && l.includes(`claude-bottle-agent-${slug}`));
      expect(execs().length).toBeGreaterThan(0);
      cli.kill("SIGKILL");
      await exited(cli);
      for (let i = 0; i < 20 && execs().length > 0; i++) await sleep(250);
      expect(execs()).toEqual([]);
      // The bottle is there for resume or cleanup; cleanup removes it.
      expect(leftoversOf(slug).containers.length).toBeGreaterThan(0);
      const r = await timed(["cleanup", "--yes"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`removed ${slug}`);
      expect(leftoversOf(slug)).toEqual(nothingLeft());
    },
  );
});
