// `claude-bottle resume <slug>`: attaches the agent program again to a bottle that is still
// running. A bottle whose start CLI is gone (killed, its terminal lost) is adopted: this CLI
// keeps the agent's work and removes the bottle when the program exits, as start would have.
// A bottle whose CLI is still attached is only joined: its own CLI removes it.

import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { stoppedElsewhereLine } from "../backend/bottle-lifecycle.js";
import { readMetadata, updateMetadata } from "../backend/bottle-state.js";
import { stopBudgetOf } from "../backend/end-bottle.js";
import { keptDirOf } from "../backend/kept-work.js";
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
    .action(async (slug, options) => {
      const launch = launchContextOf(ctx);
      const backend = backendFor(launch, options);
      const bottles = await backend.list();
      const bottle = bottleNamed(bottles, slug);
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
      const budget = stopBudgetOf(ctx.env);
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
          await endAdopted();
        }
      } finally {
        session.dispose();
      }

      /** The agent's work kept, then the bottle removed: unless `stop` or `cleanup` did it. */
      async function endAdopted(): Promise<void> {
        const metadata = bottle.stateDir === null ? null : await readMetadata(bottle.stateDir);
        const by = metadata?.stoppingBy;
        if (bottle.stateDir !== null && (metadata === null || (by && by.pid !== process.pid))) {
          ctx.io.stderr(`• ${stoppedElsewhereLine(slug, by, keptDirOf(launch.home, slug))}\n`);
        }
        await keepAndRemove(
          ctx,
          {
            ...bottle,
            // Stopped elsewhere: that command kept the work; here only the removal is made sure of.
            containers:
              metadata === null || (by && by.pid !== process.pid)
                ? bottle.containers.filter((c) => c.service !== "agent")
                : bottle.containers,
          },
          { launch, backend, budget, command: "resume" },
        );
      }
    });
}
