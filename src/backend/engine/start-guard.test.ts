import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bottleMetadata } from "../../../test/support/unit/bottle-metadata.js";
import { updateMetadata, writeMetadata } from "../bottle-state.js";
import type { DockerClient, RunOptions, RunResult } from "./docker-client.js";
import { guardStart } from "./start-guard.js";

/** An engine whose bottle has containers for the first `linger` listings. */
function fakeDocker(linger: number) {
  const calls: string[] = [];
  let listings = 0;
  const docker: DockerClient = {
    async run(args: readonly string[], _options?: RunOptions): Promise<RunResult> {
      calls.push(args.join(" "));
      let stdout = "";
      if (args[0] === "ps") stdout = listings++ < linger ? "c0ffee\n" : "";
      return { exitCode: 0, stdout, stderr: "" };
    },
  };
  return { docker, calls };
}

describe("guardStart", () => {
  let stateDir: string;
  const target = () => ({ pid: 4242, slug: "t-1a2b", project: "claude-bottle-t-1a2b", stateDir });

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "cb-guard-"));
    await writeMetadata(
      stateDir,
      bottleMetadata({
        slug: "t-1a2b",
        project: "claude-bottle-t-1a2b",
        createdAt: "2026-12-04T00:00:00.000Z",
        pid: 4242,
        phase: "starting",
      }),
    );
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it("removes what a start left when its CLI died before the agent was attached", async () => {
    const { docker, calls } = fakeDocker(3);
    const outcome = await guardStart(target(), { docker, pollMs: 1, alive: () => false });
    expect(outcome).toBe("removed");
    expect(calls).toContain(
      "compose -p claude-bottle-t-1a2b down --volumes --remove-orphans --timeout 3",
    );
    // Containers that compose up made after the first down are removed too.
    expect(calls.filter((c) => c.startsWith("rm -f -v c0ffee")).length).toBeGreaterThan(0);
    await expect(stat(stateDir)).rejects.toThrow();
  });

  it("leaves a bottle alone once its agent is attached, and while its CLI lives", async () => {
    const { docker, calls } = fakeDocker(0);
    let polls = 0;
    const alive = () => {
      polls++;
      if (polls === 3) void updateMetadata(stateDir, { phase: "running" });
      return true;
    };
    expect(await guardStart(target(), { docker, pollMs: 5, alive })).toBe("left");
    expect(calls).toEqual([]);
    expect((await stat(stateDir)).isDirectory()).toBe(true);
  });

  it("leaves the state of a bottle that went down with --keep-state", async () => {
    const { docker, calls } = fakeDocker(0);
    await updateMetadata(stateDir, { phase: "stopped" });
    expect(await guardStart(target(), { docker, pollMs: 1, alive: () => false })).toBe("left");
    expect(calls).toEqual([]);
    expect((await stat(stateDir)).isDirectory()).toBe(true);
  });

  it("stops guarding when a failed start removed its own state", async () => {
    const { docker, calls } = fakeDocker(0);
    await rm(stateDir, { recursive: true, force: true });
    expect(await guardStart(target(), { docker, pollMs: 1, alive: () => false })).toBe("left");
    expect(calls).toEqual([]);
  });

  it("hands a dead CLI's bottle to the backend's own removal when given one", async () => {
    const { docker, calls } = fakeDocker(0);
    const removed: string[] = [];
    const outcome = await guardStart(
      { ...target(), backend: "swarm", home: "/h" },
      {
        docker,
        pollMs: 1,
        alive: () => false,
        removeLeft: async (t) => {
          removed.push(`${t.backend} ${t.slug} ${t.home}`);
        },
      },
    );
    expect(outcome).toBe("removed");
    expect(removed).toEqual(["swarm t-1a2b /h"]);
    expect(calls).toEqual([]);
  });
});
