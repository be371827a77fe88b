// The start guard: a small detached process that `start` leaves beside itself while a bottle
// is coming up. If the CLI dies before the agent is attached (SIGKILL, a crash, a closed
// terminal that took it down), nothing in the CLI can undo `compose up`, which goes on by
// itself; the guard sees the CLI gone while the bottle's metadata still says "starting",
// and removes the project and its state. Once the agent is attached the guard exits: from
// then on a bottle without its CLI is one to `resume` or `cleanup`.
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { BOTTLE_SLUG_LABEL } from "../../contracts/agent.js";
import { isProcessAlive, readMetadata } from "../bottle-state.js";
import { removeBottle } from "./discover-bottles.js";
import { DockerCli, type DockerClient } from "./docker-client.js";

export interface GuardTarget {
  /** The start CLI's pid. */
  pid: number;
  slug: string;
  project: string;
  stateDir: string;
  /** The backend that starts it (compose when not said) and the home that owns it. */
  backend?: string;
  home?: string;
}

/** Starts the guard for `target`, detached, so that it outlives the CLI. */
export function spawnStartGuard(target: GuardTarget, env: NodeJS.ProcessEnv): void {
  // The entry lives beside the backends, which it may dispatch to: this folder names none.
  const entry = new URL("../start-guard-main.js", import.meta.url);
  const child = spawn(process.execPath, [entry.pathname, JSON.stringify(target)], {
    detached: true,
    stdio: "ignore",
    env,
  });
  child.unref();
}

export interface GuardOptions {
  docker?: DockerClient;
  pollMs?: number;
  alive?: (pid: number) => boolean;
  /** Removes what the dead CLI left; the Compose project's removal when not given. */
  removeLeft?: (target: GuardTarget, pollMs: number) => Promise<void>;
}

/**
 * Waits while the CLI lives and the bottle is starting. Returns "left" (alone) when the start
 * finished, or failed and was cleaned up by the CLI, or went down with its state kept;
 * "removed" when the guard removed what a dead CLI left.
 */
export async function guardStart(
  target: GuardTarget,
  options: GuardOptions = {},
): Promise<"left" | "removed"> {
  const docker = options.docker ?? new DockerCli();
  const alive = options.alive ?? isProcessAlive;
  const pollMs = options.pollMs ?? 500;
  for (;;) {
    const metadata = await readMetadata(target.stateDir);
    // Gone (the CLI removed a failed start) or past starting: nothing left to guard.
    if (metadata === null || metadata.phase !== "starting") return "left";
    if (!alive(target.pid)) break;
    await sleep(pollMs);
  }
  await (options.removeLeft ?? ((t, ms) => removeStartedProject(docker, t, ms)))(target, pollMs);
  return "removed";
}

/**
 * `compose up` may still be creating containers when the CLI dies: take the bottle down
 * until none of its containers has been seen for a few polls in a row.
 */
async function removeStartedProject(
  docker: DockerClient,
  target: GuardTarget,
  pollMs: number,
): Promise<void> {
  const label = `label=${BOTTLE_SLUG_LABEL}=${target.slug}`;
  let quiet = 0;
  for (let round = 0; round < 600 && quiet < 5; round++) {
    await removeBottle(docker, { ...target, stateDir: null }).catch(() => {});
    const left = await docker.run(["ps", "-aq", "--filter", label], { allowFailure: true });
    quiet = left.stdout.trim() === "" ? quiet + 1 : 0;
    await sleep(pollMs);
  }
  await rm(target.stateDir, { recursive: true, force: true });
}
