// `claude-bottle stop <slug>`: removes one bottle now, wherever its CLI is: the agent's work
// is kept first (as a normal exit keeps it), then everything carrying the bottle's label is
// removed, within a bound; what is left after it is named, with a non-zero exit code.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import type { Backend, FoundBottle } from "../backend/backend.js";
import {
  endBottle,
  STOP_TIMEOUT_ENV,
  type StopBudget,
  stopBudgetOf,
} from "../backend/end-bottle.js";
import { describeKeptWork } from "../backend/kept-work.js";
import type { LaunchContext } from "../backend/start-plan.js";
import { outcomeWords, readEnded } from "../dashboard/ended-bottles.js";
import { BottleError } from "../shared/errors.js";
import { shellCommandLine, terminalSafe } from "../shared/terminal-text.js";
import { backendFor, backendOption } from "./backend-option.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { bottleNamed } from "./list-command.js";

export function stopCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("stop")
    .description("keep a bottle's work, then remove its containers, networks and state")
    .argument("<slug...>", "the bottle's slug, as `claude-bottle list` shows it")
    .addOption(backendOption())
    .addHelpText(
      "after",
      `
The agent's work is kept first, as when its program exits (see \`claude-bottle start --help\`);
the CLI attached to the bottle, if any, then says that this command removed it. Each step
has a deadline (${STOP_TIMEOUT_ENV} seconds in all, default 120): a removal that does not
finish in time is forced, and whatever is still there after it is named, with exit code 1.
Ctrl-C does not interrupt it.`,
    )
    .action(async (slugs, options) => {
      const launch = launchContextOf(ctx);
      const backend = backendFor(launch, options);
      const budget = stopBudgetOf(ctx.env);
      const bottles = await backend.list();
      // Stopping a bottle twice is no error: one that ended (its record says how) is reported.
      const ended = await readEnded(launch.home, ctx.now());
      const gone = new Set<string>();
      for (const slug of slugs) {
        if (bottles.some((b) => b.slug === slug)) continue;
        const record = ended.find((r) => r.slug === slug);
        if (record === undefined) bottleNamed(bottles, slug);
        else {
          gone.add(slug);
          ctx.io.stderr(
            `• bottle ${terminalSafe(slug)} is already removed (${terminalSafe(outcomeWords(record))}, ${terminalSafe(record.endedAt)})\n`,
          );
        }
      }
      await endAll(
        ctx,
        bottles.filter((b) => slugs.includes(b.slug) && !gone.has(b.slug)),
        { launch, backend, budget, command: "stop" },
        (b) => `stopped ${b.slug}`,
      );
    });
}

export interface EndContext {
  launch: LaunchContext;
  backend: Backend;
  budget: StopBudget;
  /** The command that ends them, as the attached CLI will name it. */
  command: string;
}

/**
 * Ends each bottle (work kept, then removed) under one SIGINT guard: a Ctrl-C is answered,
 * never obeyed, so it cannot leave a bottle half removed with its keys. Throws after the
 * last one when any was not fully removed, naming each.
 */
export async function endAll(
  ctx: CliContext,
  bottles: readonly FoundBottle[],
  end: EndContext,
  done: (bottle: FoundBottle) => string,
): Promise<void> {
  const onInterrupt = () =>
    ctx.io.stderr(
      `• still keeping the agent's work and removing: Ctrl-C does not interrupt this (it ends within ${Math.round(end.budget.totalMs / 1000)} s a bottle)\n`,
    );
  process.on("SIGINT", onInterrupt);
  const failed: string[] = [];
  try {
    for (const bottle of bottles) {
      try {
        await keepAndRemove(ctx, bottle, end);
        ctx.io.stderr(`${done(bottle)}\n`);
      } catch (error) {
        if (!(error instanceof BottleError)) throw error;
        ctx.io.stderr(`error: ${terminalSafe(error.message, { multiline: true })}\n`);
        failed.push(bottle.slug);
      }
    }
  } finally {
    process.off("SIGINT", onInterrupt);
  }
  if (failed.length > 0) {
    throw new BottleError(`not fully removed: ${failed.join(", ")}`, {
      hint: `run \`${shellCommandLine(end.command === "cleanup" ? ["claude-bottle", "cleanup", "--all"] : ["claude-bottle", "stop", ...failed])}\` again once the engine answers`,
    });
  }
}

/**
 * Keeps the work of a found bottle (the workspace its metadata names, or its ~/work) when its
 * agent is running, says why not when it is not, then removes the bottle.
 */
export async function keepAndRemove(
  ctx: CliContext,
  bottle: FoundBottle,
  end: EndContext,
): Promise<void> {
  const agent = bottle.containers.find((c) => c.service === "agent");
  // Still starting: its ~/work may be half seeded, and the agent has done nothing yet.
  const starting = bottle.metadata?.phase === "starting";
  const running = agent?.state === "running" && !starting;
  if (agent !== undefined && agent.state !== "running") {
    ctx.io.stderr(
      `• warning: the agent of ${terminalSafe(bottle.slug)} is not running (${terminalSafe(agent.state)}): its work cannot be collected, and goes with the bottle\n`,
    );
  } else if (starting) {
    ctx.io.stderr(
      `• ${terminalSafe(bottle.slug)} was still starting: its agent has no work to keep yet\n`,
    );
  }
  await endBottle({
    slug: bottle.slug,
    stateDir: bottle.stateDir,
    command: end.command,
    keep: running,
    workspace: bottle.metadata?.workspace ?? null,
    home: end.launch.home,
    budget: end.budget,
    progress: end.launch.progress,
    onKept: (kept) => {
      for (const line of describeKeptWork(kept, ctx.cwd)) ctx.io.stderr(`• ${line}\n`);
    },
    agent: () => end.backend.agent(bottle),
    remove: (bounds) => end.backend.down(bottle, bounds),
  });
}
