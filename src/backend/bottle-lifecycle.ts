// The life of one bottle on any backend: bring it up (removing all it started when a step
// fails), run the agent program, keep the agent's work and tear everything down when the
// program exits or anything fails. Nothing of the bottle is left running.

import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { composeProjectName } from "../contracts/agent.js";
import type { BottleBlueprint } from "../core/bottle-blueprint.js";
import { hasGitGate } from "../core/bottle-mounts.js";
import { superviseMcpOf } from "../core/compose.js";
import { BottleError } from "../shared/errors.js";
import { renderAgentGitConfig } from "../sidecars/git-gate/agent-gitconfig.js";
import type { Backend, RemovalBounds, RunOptions, StartedBottle, UpOptions } from "./backend.js";
import { type BottleMetadata, readMetadata, updateMetadata } from "./bottle-state.js";
import { endBottle, type StopBudget, stopBudgetOf } from "./end-bottle.js";
import { ensureImages, type ImageOptions, imagesForPlan } from "./engine/images.js";
import type { AgentProvision } from "./engine/provision-agent.js";
import { seedWorkspace } from "./engine/workspace.js";
import { keptDirOf } from "./kept-work.js";
import type { PreparedBottle } from "./prepare-bottle.js";
import { ensurePlanAgentPackage, type LaunchContext, type StartPlan } from "./start-plan.js";

/**
 * What every backend's start shares: runs `steps.start`, and on any failure removes what it
 * started (`steps.remove`), the state directory too unless kept, and rethrows the first
 * error. The bottle it returns is removed the same way.
 */
export async function startOrRemove(
  plan: StartPlan,
  prepared: PreparedBottle,
  options: UpOptions,
  steps: { start(): Promise<void>; remove(bounds?: RemovalBounds): Promise<void> },
): Promise<StartedBottle> {
  const { stateDir } = plan.blueprint;
  const slug = plan.blueprint.plan.slug;
  const down = async (keepState = false, bounds?: RemovalBounds) => {
    // Left in place when something of the bottle is: the next stop or cleanup needs it.
    await steps.remove(bounds);
    // A kept state directory outlives this CLI: tell the start guard the bottle is done.
    if (keepState) await updateMetadata(stateDir, { phase: "stopped" });
    else await rm(stateDir, { recursive: true, force: true });
  };
  try {
    await steps.start();
  } catch (error) {
    // The first error is the one reported; a removal that fails too is said beside it.
    await down(options.keepStateOnFailure ?? false).catch((removal: unknown) => {
      options.onRemovalError?.(removal);
    });
    throw interrupted(options.signal, error);
  }
  return {
    prepared,
    slug,
    project: composeProjectName(slug),
    down: (o = {}) => down(o.keepState ?? false, o.bounds),
  };
}

/** The error to report: `error`, or, when the user interrupted, that the bottle was torn down. */
function interrupted(signal: AbortSignal | undefined, error: unknown): unknown {
  return signal?.aborted
    ? new BottleError("interrupted; the bottle was torn down", { cause: error })
    : error;
}

/** Builds the plan's images that are missing or stale; returns every image the plan runs. */
export async function ensurePlanImages(plan: StartPlan, ctx: LaunchContext): Promise<string[]> {
  const images: ImageOptions = {
    docker: ctx.docker,
    buildContext: ctx.buildContext,
    env: ctx.env,
    progress: ctx.progress,
  };
  const { blueprint } = plan;
  const builds = await imagesForPlan(images, blueprint.plan, blueprint.agent.bottle.runtime);
  await ensureImages(images, builds);
  return builds.map((b) => b.tag);
}

/** A bottle's state as its start begins: who started it, where, and that it is starting. */
export function startingMetadata(blueprint: BottleBlueprint, now: Date): BottleMetadata {
  const slug = blueprint.plan.slug;
  return {
    slug,
    project: composeProjectName(slug),
    agent: blueprint.agent.name,
    bottle: blueprint.agent.bottle.name,
    createdAt: now.toISOString(),
    pid: process.pid,
    hostname: hostname(),
    phase: "starting",
    tokenNames: { ...blueprint.plan.egressPlan.tokenEnvMap },
  };
}

/** What provisioning writes into the agent container named `container`. */
export function agentProvisionOf(
  plan: StartPlan,
  prepared: PreparedBottle,
  container: string,
): AgentProvision {
  const { blueprint } = plan;
  return {
    container,
    caBundle: prepared.agentCaBundle,
    provider: blueprint.plan.agentProvider,
    prompt: blueprint.agent.prompt,
    skills: plan.skills,
    gitconfig: hasGitGate(blueprint.plan)
      ? renderAgentGitConfig(blueprint.plan.slug, blueprint.plan.gitGatePlan.upstreams)
      : null,
    supervise: superviseMcpOf(blueprint.plan),
    literalEnv: blueprint.agentEnvLiterals,
    agentPackage: blueprint.plan.agentPackage,
  };
}

/**
 * Runs the bottle to completion; returns the agent program's exit code. Once the program has
 * run, the agent's work (its repository's changes, or its ~/work) is kept before the bottle
 * is removed, whether the program succeeded, failed or was interrupted, and handed to
 * `onKept`; the whole end is bounded (stopBudgetOf). When another command (`stop`,
 * `cleanup`) took the bottle down, that command kept the work: this says so instead.
 */
export async function runBottle(
  plan: StartPlan,
  ctx: LaunchContext,
  options: RunOptions,
  backend: Pick<Backend, "up" | "exec" | "agent">,
): Promise<number> {
  // A detached bottle needs its program too: `resume` attaches it.
  if (options.exec === null) await ensurePlanAgentPackage(plan, ctx, options.signal);
  const budget = options.budget ?? stopBudgetOf(ctx.env);
  const bottle = await backend.up(plan, {
    keepStateOnFailure: options.keepState,
    ...(options.signal ? { signal: options.signal } : {}),
    onRemovalError: (error) => ctx.progress(`warning: ${describeError(error)}`),
  });
  const { stateDir } = plan.blueprint;
  const workspace = options.workspace ?? null;
  let ran = false;
  let left = false;
  let failed = false;
  let exitCode: number | null = null;
  try {
    if (workspace !== null) {
      ctx.progress(`copying ${workspace.repoDir} into the agent's ~/work…`);
      const agent = await backend.agent(bottle);
      await seedWorkspace(agent.docker, agent.container, workspace, stateDir);
      // Seeded: from here what is in ~/work is the agent's to keep (half a seed is not).
      ran = true;
    }
    // From here a bottle without its CLI is one to resume; resume keeps the work too.
    await updateMetadata(stateDir, {
      phase: "running",
      workspace,
      ...(options.detach ? { detached: true } : {}),
    });
    if (options.detach) {
      left = true;
      return 0;
    }
    ran = true;
    const code = await backend.exec(bottle, options);
    exitCode = code;
    if (options.exec === null && !options.leaveRunning?.()) {
      // Agent programs close with hints of their own ("to resume, run …") that point inside
      // this bottle: say that they are not ours before the bottle goes.
      ctx.progress(
        `the agent program has exited (code ${code}); any "resume" hint it printed above is its own and points inside bottle ${bottle.slug}, which is removed now, its work kept (a bottle started with \`--detach\` stays for \`claude-bottle resume\`)`,
      );
    }
    return code;
  } catch (error) {
    failed = true;
    throw interrupted(options.signal, error);
  } finally {
    if (!left && options.leaveRunning?.()) left = true;
    if (!left) {
      await endRun({ ctx, plan, bottle, backend, options, budget, keep: ran, exitCode }).catch(
        (error: unknown) => {
          // The first error is the one reported; a failed removal is said beside it.
          if (!failed) throw error;
          ctx.progress(`warning: ${describeError(error)}`);
        },
      );
    }
  }
}

/** The end of a run: keep the work and remove, or report the command that already does. */
async function endRun(o: {
  ctx: LaunchContext;
  plan: StartPlan;
  bottle: StartedBottle;
  backend: Pick<Backend, "agent">;
  options: RunOptions;
  budget: StopBudget;
  keep: boolean;
  exitCode: number | null;
}): Promise<void> {
  const { ctx, bottle, options } = o;
  const { stateDir } = o.plan.blueprint;
  const metadata = await readMetadata(stateDir);
  const by = metadata?.stoppingBy;
  const elsewhere = o.keep && (metadata === null || (by !== undefined && by.pid !== process.pid));
  if (elsewhere) {
    ctx.progress(stoppedElsewhereLine(bottle.slug, by, keptDirOf(ctx.home, bottle.slug)));
  }
  await endBottle({
    slug: bottle.slug,
    stateDir: metadata === null ? null : stateDir,
    command: "start",
    exitCode: o.exitCode,
    // The command that removed it recorded how it ended.
    record: !elsewhere,
    keep: o.keep && !elsewhere,
    workspace: options.workspace ?? null,
    home: ctx.home,
    budget: o.budget,
    progress: ctx.progress,
    ...(options.onKept ? { onKept: options.onKept } : {}),
    agent: () => o.backend.agent(bottle),
    remove: (bounds) => bottle.down({ keepState: options.keepState, bounds }),
  });
}

/** What an attached CLI says when another command (`stop`, `cleanup`) removed its bottle. */
export function stoppedElsewhereLine(
  slug: string,
  by: { command: string; pid: number } | undefined,
  keptDir: string,
): string {
  const who = by
    ? `\`claude-bottle ${by.command}\` (pid ${by.pid})`
    : "another claude-bottle command (stop or cleanup)";
  return `bottle ${slug} was removed by ${who}, which kept the agent's work first: ${
    existsSync(keptDir)
      ? `it is in ${keptDir}`
      : "nothing was kept (that command's output says why)"
  }`;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
