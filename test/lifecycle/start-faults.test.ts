// Each step of a start fails once, at the engine, and the start must leave nothing. The CLI
// runs as a user runs it, with a docker on its PATH that passes every call to the real one
// (test/support/docker/faulty-docker.mjs) but fails the first call of one step, after running
// it: what the step made (containers, networks, volumes; on the swarm services, secrets,
// configs, the keeper) exists when the start learns of the failure. The steps are read from a
// clean start of the same bottle, so a step added to `up` is faulted without a change here.
// Runs on Compose (integration) and on the swarm fixture (swarm-suites).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type CliResult, slugOf, writeAgentBottle } from "../support/cli/cli-process.js";
import { useTestHome } from "../support/cli/use-test-home.js";
import { leftoversOf, nothingLeft } from "../support/docker/docker-state.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { ON_SWARM } from "../support/docker/test-backend.js";
import { bottleYaml } from "../support/fixtures/bottle-yaml.js";

const FAULTY_DOCKER = fileURLToPath(
  new URL("../support/docker/faulty-docker.mjs", import.meta.url),
);
/** The command the bottle runs once up: its `exec` is where `up` ends. */
const PROBE = "echo cb-fault-probe-ran";

/**
 * Steps whose failure the start is built to go on from, and why: the start must then run the
 * command and leave nothing at its end, as a clean one does.
 */
const TOLERATED: Record<string, string> = {
  // A failing inspect is an image that is not there: another base, a build, or a copy.
  "image inspect": "an image taken as missing",
  ...(ON_SWARM
    ? {
        // How many bottles each node runs, to place this one: unknown, it is placed anyway.
        "service ls": "no count of bottles per node",
        // The tasks' failures, read while waiting: unknown, the wait goes on by the containers.
        "stack ps": "no task states",
      }
    : {
        // The gVisor probe: an engine that cannot say which runtimes it has runs runc.
        info: "no runtime list: runc",
      }),
};

/**
 * Steps a start takes only when something is missing, which the clean start before made
 * present: a fault run would not reach them (and would cost a whole start), so they are
 * listed and not run. Any other step must be reached.
 */
const CONDITIONAL: Record<string, string> = {
  build: "an image is built only when it is missing or stale",
  ...(ON_SWARM
    ? {
        save: "images go to the node only when it lacks them",
        load: "images go to the node only when it lacks them",
      }
    : {}),
};

/** Steps whose failure the start reports in words of its own, not the engine's. */
const SAYS: Record<string, string> = ON_SWARM
  ? {
      // The manager's check: a failing `docker info` is a manager that does not answer.
      info: "no Docker engine answers at",
    }
  : {
      // The engine check: a failing `docker version` is an engine that does not answer.
      version: "no Docker engine answers",
    };

describeWithEngine("a start whose steps fail one at a time", () => {
  const t = useTestHome((home) =>
    writeAgentBottle(home, "faults", bottleYaml({ allow: ["allowed.test"], supervise: false })),
  );
  let bin: string;
  let workspace: string;

  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), "cb-faulty-docker-"));
    await symlink(FAULTY_DOCKER, join(bin, "docker"));
    // A repository to copy in, so that seeding the workspace is a step too.
    workspace = join(bin, "repo");
    await mkdir(workspace);
    await writeFile(join(workspace, "README"), "a workspace\n");
    const git = (...args: string[]) => execFileSync("git", ["-C", workspace, ...args]);
    git("init", "-q");
    git("-c", "user.email=t@example.test", "-c", "user.name=t", "add", ".");
    git("-c", "user.email=t@example.test", "-c", "user.name=t", "commit", "-qm", "init");
  });

  afterAll(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  /** A start through the faulty docker; its result and the steps it called, in order. */
  async function start(
    fault: string | null,
  ): Promise<{ result: CliResult; upSteps: string[]; fired: boolean }> {
    const log = join(bin, `calls-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    const result = await t.run(
      ["start", "faults", "--yes", "--workdir", workspace, "--exec", PROBE],
      {
        PATH: `${bin}:${process.env.PATH}`,
        CB_REAL_DOCKER: realDocker(),
        CB_FAULT_LOG: log,
        ...(fault === null ? {} : { CB_FAULT_STEP: fault }),
      },
    );
    const calls = (await readFile(log, "utf8").catch(() => "")).split("\n").filter(Boolean);
    // Up ends where the probe is run; each step once, in the order first called.
    const probe = calls.findIndex((line) => line.includes(PROBE));
    const up = calls.slice(0, probe === -1 ? undefined : probe);
    const upSteps = [...new Set(up.map((line) => line.split("\t")[0] as string))];
    return { result, upSteps, fired: existsSync(`${log}.fired`) };
  }

  /** Soft: a step that leaves something is reported, cleaned up, and the next one runs. */
  async function expectNothingLeft(result: CliResult, label: string): Promise<void> {
    // The instance line comes before anything is made; without it nothing was.
    const left = /instance\s+\S+/.test(result.stderr)
      ? leftoversOf(slugOf(result.stderr))
      : nothingLeft();
    const state = await readdir(join(t.home, "state")).catch(() => []);
    expect.soft(left, label).toEqual(nothingLeft());
    expect.soft(state, `${label}: state`).toEqual([]);
    if (JSON.stringify(left) !== JSON.stringify(nothingLeft()) || state.length > 0) {
      await t.run(["cleanup", "--yes", "--all"]);
    }
  }

  it(
    "fails at each step of up with that step's error, and leaves nothing",
    async () => {
      const clean = await start(null);
      expect(clean.result.code, clean.result.stderr).toBe(0);
      expect(clean.result.stdout).toContain("cb-fault-probe-ran");
      await expectNothingLeft(clean.result, "clean start");
      const steps = clean.upSteps;
      expect(steps.length).toBeGreaterThan(4);
      console.log(`the steps of up: ${steps.join(", ")}`);

      const outcomes: string[] = [];
      for (const step of steps) {
        if (step in CONDITIONAL) {
          outcomes.push(`${step}: not faulted (${CONDITIONAL[step]})`);
          continue;
        }
        const { result, fired } = await start(step);
        const label = `fault at ${step}`;
        expect.soft(result.stderr, label).not.toMatch(/\n\s+at .+:\d+:\d+/);
        expect.soft(fired, `${label}: the start never reached it`).toBe(true);
        if (step in TOLERATED) {
          expect.soft(result.code, `${label}\n${result.stderr}`).toBe(0);
          expect
            .soft(result.stdout, `${label} (${TOLERATED[step]})`)
            .toContain("cb-fault-probe-ran");
        } else {
          expect.soft(result.code, `${label}\n${result.stderr}`).toBe(1);
          expect.soft(result.stderr, label).toContain(SAYS[step] ?? `injected fault at ${step}`);
          expect.soft(result.stdout, label).not.toContain("cb-fault-probe-ran");
        }
        await expectNothingLeft(result, label);
        outcomes.push(`${step}: ${fired ? `exit ${result.code}` : "not reached"}`);
      }
      // What was faulted, for the log of a run that fails later on.
      console.log(`faulted ${outcomes.length} steps:\n  ${outcomes.join("\n  ")}`);
      // A start per step: on the swarm each takes up to a minute.
    },
    20 * 60_000,
  );
});

let real: string | undefined;

function realDocker(): string {
  real ??= execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();
  return real;
}
