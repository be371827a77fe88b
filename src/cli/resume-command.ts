// `claude-bottle resume <slug>`: attaches the agent program again to a bottle that is still
// running. A bottle whose start CLI is gone (killed, its terminal lost) is adopted: this CLI
// keeps the agent's work and removes the bottle when the program exits, as start would have.
// A bottle whose CLI is still attached is only joined: its own CLI removes it.

import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import type { Backend, FoundBottle } from "../backend/backend.js";
import { stoppedElsewhereLine } from "../backend/bottle-lifecycle.js";
import { readMetadata, updateMetadata } from "../backend/bottle-state.js";
import { type StopBudget, stopBudgetOf } from "../backend/end-bottle.js";
import { keptDirOf } from "../backend/kept-work.js";
import type { LaunchContext } from "../backend/start-plan.js";
import { BottleError } from "../shared/errors.js";
import { shellCommandLine, terminalSafe } from "../shared/terminal-text.js";
import { backendFor, backendOption } from "./backend-option.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { bottleNamed } from "./list-command.js";
import { watchSession } from "./start-command.js";
import { keepAndRemove } from "./stop-command.js";

export function resumeCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("resume")
    .description("attach the agent again to a bottle that is still running")
    .argument("<slug>", "the bottle's slug, as `claude-bottle list` shows it")
    .option(
      "--exec <command>",
      "run this shell command in the agent container instead of the agent program",
    )
    .option(
      "--keep",
      "if this terminal goes away (SIGHUP), leave the bottle running for the next resume instead of removing it",
    )
    .addHelpText(
      "after",
      `
If the bottle's start CLI is gone, resume takes its place: when the agent program exits,
the agent's work is kept (as start keeps it) and the bottle is removed, also when this
terminal goes away (SIGHUP), unless --keep: then it is left running for the next resume.
If that CLI is still running, resume only joins the bottle, and that CLI removes it.`,
    )
    .addOption(backendOption())
    .action((slug, options) => resumeBottle(ctx, slug, options));
}

async function resumeBottle(
  ctx: CliContext,
  slug: string,
  options: { exec?: string; keep?: true; backend: string },
): Promise<void> {
  const launch = launchContextOf(ctx);
  const backend = backendFor(launch, options);
  const bottle = bottleNamed(await backend.list(), slug);
  const agent = bottle.containers.find((c) => c.service === "agent");
  if (agent?.state !== "running") {
    throw new BottleError(
      `bottle ${slug} is not running (agent: ${agent?.state ?? "no container"})`,
      {
        hint: `remove what is left of it with \`${shellCommandLine(["claude-bottle", "stop", slug])}\``,
      },
    );
  }
  const adopt = !bottle.attached;
  if (adopt && bottle.stateDir !== null) {
    await updateMetadata(bottle.stateDir, { pid: process.pid });
  }
  ctx.io.stderr(
    adopt
      ? `• resuming ${slug}: its start CLI is gone, so this one removes the bottle when the agent exits\n`
      : `• joining ${slug}: its start CLI (pid ${bottle.metadata?.pid}) removes it when its agent exits\n`,
  );
  const session = watchSession(ctx, slug, { keep: options.keep ?? false });
  try {
    ctx.exitCode = await backend.exec(bottle, {
      exec: options.exec ?? null,
      tty: ctx.stdinIsTty && Boolean(process.stdout.isTTY),
      signal: session.signal,
    });
    if (adopt && session.leaving()) {
      ctx.io.stderr(
        `• bottle ${terminalSafe(slug)} is left running: its terminal went away; \`${shellCommandLine(["claude-bottle", "resume", slug])}\` attaches it again\n`,
      );
    } else if (adopt) {
      await endAdopted(ctx, bottle, { launch, backend, budget: stopBudgetOf(ctx.env) });
    }
  } finally {
    session.dispose();
  }
}

/** The agent's work kept, then the bottle removed: unless `stop` or `cleanup` did it. */
async function endAdopted(
  ctx: CliContext,
  bottle: FoundBottle,
  how: { launch: LaunchContext; backend: Backend; budget: StopBudget },
): Promise<void> {
  const { slug } = bottle;
  const metadata = bottle.stateDir === null ? null : await readMetadata(bottle.stateDir);
  const by = metadata?.stoppingBy;
  const elsewhere = metadata === null || (by ? by.pid !== process.pid : false);
  if (bottle.stateDir !== null && elsewhere) {
    ctx.io.stderr(`• ${stoppedElsewhereLine(slug, by, keptDirOf(how.launch.home, slug))}\n`);
  }
  await keepAndRemove(
    ctx,
    {
      ...bottle,
      // Stopped elsewhere: that command kept the work; here only the removal is made sure of.
      containers: elsewhere
        ? bottle.containers.filter((c) => c.service !== "agent")
        : bottle.containers,
    },
    { ...how, command: "resume" },
  );
}
