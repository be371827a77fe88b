// Fault: the Docker engine restarts under running bottles. It stops every container on the
// machine, so this file must run last and alone (see the report on ordering): nothing else
// may be using the engine meanwhile. One bottle's CLI is killed first (as in a crash, its
// state directory stays); the other's CLI is attached when the engine goes (it tears down
// what it can and removes its state directory). After the engine is back, `list` must show
// every bottle that left anything behind and `cleanup` must remove all of it.
import { execFileSync, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PACKAGE_ROOT, type TestHome, writeAgentBottle } from "../support/cli/cli-process.js";
import { useTestHome } from "../support/cli/use-test-home.js";
import { type RunningBottle, startBottle } from "../support/docker/bottle-harness.js";
import { leftoversOf, nothingLeft } from "../support/docker/docker-state.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";

const DOCKER_PID_FILE = "/var/run/docker.pid";

function engineAnswers(): boolean {
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
      stdio: "ignore",
      timeout: 10_000,
    });
    return true;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Stops dockerd by the pid it wrote, after checking that pid is dockerd. */
async function stopEngine(): Promise<void> {
  const pid = Number((await readFile(DOCKER_PID_FILE, "utf8")).trim());
  const comm = (await readFile(`/proc/${pid}/comm`, "utf8")).trim();
  if (comm !== "dockerd") throw new Error(`${DOCKER_PID_FILE} names pid ${pid}, which is ${comm}`);
  process.kill(pid, "SIGTERM");
  await until("dockerd to exit", () => !processAlive(pid));
}

/** Starts the engine as the machine's setup does, in a session of its own so it outlives us. */
function startEngine(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("setsid", ["bash", join(PACKAGE_ROOT, "scripts/setup-host.sh")], {
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`setup-host.sh exited ${code}:\n${stderr}`)),
    );
  });
}

interface ListedBottle {
  slug: string;
  state: string;
  attached: boolean;
  services: string[];
}

async function listBottles(t: TestHome): Promise<ListedBottle[]> {
  const r = await t.run(["list", "--json"]);
  if (r.code !== 0) throw new Error(`list failed (${r.code}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as ListedBottle[];
}

describeWithEngine("faults: the Docker engine restarts under running bottles", () => {
  const routed = routedBottle({
    allow: ["allowed.example.test"],
    route: "api.example.test",
    token: "cbtest-restart-token-5d2e",
  });
  const t = useTestHome(async (home) => {
    await writeAgentBottle(home, "crashed", routed.bottle);
    await writeAgentBottle(home, "attached", "supervise: true");
  });
  let crashed: RunningBottle;
  let attached: RunningBottle;

  beforeAll(async () => {
    crashed = await startBottle(t, "crashed", routed.env);
    attached = await startBottle(t, "attached");
  });

  afterAll(async () => {
    // Whatever happened, the engine is left running and nothing of these bottles remains.
    if (!engineAnswers()) await startEngine();
    await t.run(["cleanup", "--all", "--yes"]);
    await Promise.all([crashed?.stop(), attached?.stop()]);
  });

  it("lists both bottles as running before the restart (the control)", async () => {
    const listed = await listBottles(t);
    expect(listed.map((b) => [b.slug, b.state, b.attached]).sort()).toEqual(
      [
        [attached.slug, "running", true],
        [crashed.slug, "running", true],
      ].sort(),
    );
  });

  it("finds every bottle left behind after the engine restarts, and cleanup removes them all", async () => {
    // The first bottle's CLI dies without tearing anything down, as in a crash.
    const metadata = JSON.parse(
      await readFile(join(t.home, "state", crashed.slug, "bottle.json"), "utf8"),
    ) as { pid: number };
    process.kill(metadata.pid, "SIGKILL");
    await until("the crashed CLI to exit", () => !processAlive(metadata.pid));

    await stopEngine();
    expect(engineAnswers()).toBe(false);
    await startEngine();
    expect(engineAnswers()).toBe(true);

    const left = [crashed, attached].filter((b) => {
      const l = leftoversOf(b.slug);
      return l.containers.length + l.networks.length > 0;
    });
    // The crashed bottle's containers and networks survive the restart, stopped.
    expect(left.map((b) => b.slug)).toContain(crashed.slug);
    const listed = await listBottles(t);
    expect(listed.map((b) => b.slug).sort()).toEqual(left.map((b) => b.slug).sort());
    for (const b of listed) expect(b.attached).toBe(false);
    const services = listed.find((b) => b.slug === crashed.slug)?.services;
    expect(services).toEqual(["agent", "egress", "pipelock"]);

    const cleanup = await t.run(["cleanup", "--yes"]);
    expect(cleanup.code).toBe(0);
    for (const b of left) expect(cleanup.stderr).toContain(`removed ${b.slug}`);
    expect(leftoversOf(crashed.slug)).toEqual(nothingLeft());
    expect(leftoversOf(attached.slug)).toEqual(nothingLeft());
    expect(await listBottles(t)).toEqual([]);
  });
});
