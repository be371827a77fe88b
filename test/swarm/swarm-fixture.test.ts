// The swarm fixture cleans up after itself: a start that fails part-way leaves nothing, and
// a run whose process died is found by its labels and removed by the next run, while a
// live process's run is left alone.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { describeWithEngine } from "../support/docker/engine.js";
import { runDocker } from "../support/swarm/docker-process.js";
import {
  removeSwarm,
  SWARM_OWNER_LABEL,
  SWARM_RUN_LABEL,
  SWARM_SOCKET_DIR_LABEL,
  startSwarm,
  swarmLeftovers,
  sweepSwarmLeftovers,
} from "../support/swarm/swarm-fixture.js";

async function allRuns(): Promise<string[]> {
  const filter = ["--filter", `label=${SWARM_RUN_LABEL}`, "--format", "{{.Names}}"];
  const [containers, networks] = await Promise.all([
    runDocker(["ps", "-a", ...filter]),
    runDocker(["network", "ls", ...filter.slice(0, 2), "--format", "{{.Name}}"]),
  ]);
  return `${containers.stdout}${networks.stdout}`.split("\n").filter(Boolean);
}

/** A socket directory, a network and a volume as a run of `pid` would have left them. */
async function leaveRun(id: string, pid: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `cbswarm-${id}-`));
  const labels = [
    "--label",
    `${SWARM_SOCKET_DIR_LABEL}=${dir}`,
    "--label",
    `${SWARM_RUN_LABEL}=${id}`,
    "--label",
    `${SWARM_OWNER_LABEL}=${hostname()}:${pid}`,
  ];
  await runDocker(["network", "create", ...labels, `cbswarm-${id}`]);
  await runDocker(["volume", "create", ...labels, `cbswarm-${id}-state`]);
  return dir;
}

describeWithEngine("the swarm fixture's cleanup", () => {
  const made: string[] = [];

  afterAll(async () => {
    for (const id of made) await removeSwarm(id);
  });

  it("removes everything it made when a start fails part-way", async () => {
    const before = await allRuns();
    await expect(startSwarm({ images: ["claude-bottle-test/absent:none"] })).rejects.toThrow(
      "image claude-bottle-test/absent:none is not on the host: build it first",
    );
    expect(await allRuns()).toEqual(before);
  });

  it("removes a dead process's run by its labels and leaves a live one's", async () => {
    // A pid that was just used and is gone.
    const exited = spawnSync(
      process.execPath,
      ["-e", "process.stdout.write(String(process.pid))"],
      {
        encoding: "utf8",
      },
    );
    const deadPid = Number(exited.stdout);
    const dead = `dead${Date.now().toString(16).slice(-6)}`;
    const live = `live${Date.now().toString(16).slice(-6)}`;
    made.push(dead, live);
    const deadDir = await leaveRun(dead, deadPid);
    const liveDir = await leaveRun(live, process.pid);

    const swept = await sweepSwarmLeftovers();
    expect(swept).toContain(dead);
    expect(swept).not.toContain(live);
    expect(await swarmLeftovers(dead)).toEqual({ containers: [], networks: [], volumes: [] });
    expect(existsSync(deadDir)).toBe(false);
    expect(existsSync(liveDir)).toBe(true);
    expect(await swarmLeftovers(live)).toEqual({
      containers: [],
      networks: [`cbswarm-${live}`],
      volumes: [`cbswarm-${live}-state`],
    });
    expect(await removeSwarm(live)).toEqual({ containers: [], networks: [], volumes: [] });
    expect(existsSync(liveDir)).toBe(false);
  });
});
