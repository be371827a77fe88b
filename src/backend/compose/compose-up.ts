// A bottle's start on Compose: stage, build, `compose up --wait`, provision.

import { composeProjectName } from "../../contracts/agent.js";
import type { StartedBottle, UpOptions } from "../backend.js";
import {
  agentProvisionOf,
  ensurePlanImages,
  startingMetadata,
  startOrRemove,
} from "../bottle-lifecycle.js";
import { writeMetadata } from "../bottle-state.js";
import { removeBottle } from "../engine/discover-bottles.js";
import { provisionAgent } from "../engine/provision-agent.js";
import { spawnStartGuard } from "../engine/start-guard.js";
import { prepareBottle } from "../prepare-bottle.js";
import type { LaunchContext, StartPlan } from "../start-plan.js";

/**
 * Stages, builds, starts and provisions a bottle. On any failure everything it started is
 * removed, its state too, and the first error is rethrown.
 */
export async function upBottle(
  plan: StartPlan,
  ctx: LaunchContext,
  options: UpOptions = {},
): Promise<StartedBottle> {
  const { blueprint } = plan;
  const slug = blueprint.plan.slug;
  const project = composeProjectName(slug);
  const prepared = await prepareBottle(blueprint, { now: ctx.now() });
  let upStarted = false;
  return startOrRemove(plan, prepared, options, {
    remove: async (bounds) => {
      if (upStarted) await removeBottle(ctx.docker, { slug, project, stateDir: null }, bounds);
    },
    start: async () => {
      await writeMetadata(blueprint.stateDir, startingMetadata(blueprint, ctx.now()));
      // compose up goes on if this process is killed: the guard removes what it leaves.
      spawnStartGuard({ pid: process.pid, slug, project, stateDir: blueprint.stateDir }, ctx.env);
      await ensurePlanImages(plan, ctx);

      ctx.progress(`starting bottle ${slug}…`);
      upStarted = true;
      await ctx.docker.run(
        [
          "compose",
          "-p",
          project,
          "-f",
          prepared.composeFile,
          "up",
          "-d",
          "--wait",
          "--quiet-pull",
        ],
        { env: plan.composeEnv, ...(options.signal ? { signal: options.signal } : {}) },
      );
      ctx.progress("provisioning the agent…");
      await provisionAgent(
        ctx.docker,
        agentProvisionOf(plan, prepared, blueprint.plan.containerName),
      );
    },
  });
}
