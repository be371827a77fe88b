// The start guard's work for a swarm bottle whose start CLI died before its agent was
// attached: the CLI's own children (`docker image load`, `secret create`, `stack deploy`)
// may still be at work, and the swarm goes on converging by itself. The guard waits until
// what the swarm holds of the bottle stops changing, then removes it all as `stop` would.
import { setTimeout as sleep } from "node:timers/promises";
import { BOTTLE_SLUG_LABEL } from "../../contracts/agent.js";
import { DockerCli } from "../engine/docker-client.js";
import type { GuardTarget } from "../engine/start-guard.js";
import type { LaunchContext } from "../start-plan.js";
import { SwarmBackend } from "./swarm-backend.js";
import { EngineAt, SWARM_HOST_ENV } from "./swarm-engines.js";

/** Polls in a row with the same services, secrets and configs before the removal. */
const SETTLED_POLLS = 5;
const MAX_POLLS = 240;

export async function removeLeftStack(target: GuardTarget, pollMs: number): Promise<void> {
  const docker = new DockerCli();
  const ctx: LaunchContext = {
    docker,
    home: target.home ?? "",
    userHome: "",
    buildContext: "",
    env: process.env,
    now: () => new Date(),
    suffix: () => "",
    progress: () => {},
  };
  const manager = new EngineAt(docker, process.env[SWARM_HOST_ENV] || null);
  const label = `label=${BOTTLE_SLUG_LABEL}=${target.slug}`;
  let last: string | null = null;
  for (let polls = 0, same = 0; polls < MAX_POLLS && same < SETTLED_POLLS; polls++) {
    const held = await Promise.all(
      ["service", "secret", "config"].map(
        async (kind) =>
          (await manager.run([kind, "ls", "-q", "--filter", label], { allowFailure: true })).stdout,
      ),
    );
    const now = held.join("|");
    same = now === last ? same + 1 : 0;
    last = now;
    await sleep(pollMs);
  }
  await new SwarmBackend(ctx).down({
    slug: target.slug,
    project: target.project,
    stateDir: target.stateDir,
  });
}
