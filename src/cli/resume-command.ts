// `claude-bottle resume <slug>`: attaches the agent program again to a bottle that is still
// running. A bottle whose start CLI is gone (killed, its terminal lost) is adopted: this CLI
// keeps the agent's work and removes the bottle when the program exits, as start would have.
// A bottle whose CLI is still attached is only joined: its own CLI removes it.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { updateMetadata } from "../backend/docker/bottle-state.js";
import { describeKeptWork, keptDirOf } from "../backend/docker/kept-work.js";
import { harvestWorkspace } from "../backend/docker/workspace.js";
import { BottleError } from "../shared/errors.js";
import { backendFor, backendOption } from "./backend-option.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { bottleNamed } from "./list-command.js";

export function resumeCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("resume")
    .description("attach the agent again to a bottle that is still running")
    .argument("<slug>", "the bottle's slug, as `claude-bottle list` shows it")
    .option(
      "--exec <command>",
      "run this shell command in the agent container instead of the agent program",
    )
    .addHelpText(
      "after",
      `
If the bottle's start CLI is gone, resume takes its place: when the agent program exits,
the agent's work is kept (as start keeps it) and the bottle is removed. If that CLI is
still running, resume only joins the bottle, and that CLI removes it.`,
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
          { hint: `remove what is left of it with \`claude-bottle stop ${slug}\`` },
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
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.on("SIGTERM", onSignal).on("SIGHUP", onSignal);
      try {
        ctx.exitCode = await backend.exec(bottle, {
          exec: options.exec ?? null,
          tty: ctx.stdinIsTty && Boolean(process.stdout.isTTY),
          signal: abort.signal,
        });
      } finally {
        process.off("SIGTERM", onSignal).off("SIGHUP", onSignal);
        if (adopt) {
          const workspace = bottle.metadata?.workspace ?? null;
          if (workspace) {
            launch.progress("keeping the agent's work…");
            const agent = await backend.agent(bottle);
            const kept = await harvestWorkspace(agent.docker, agent.container, workspace, {
              slug,
              keepDir: keptDirOf(launch.home, slug),
            });
            for (const line of describeKeptWork(kept, ctx.cwd)) ctx.io.stderr(`• ${line}\n`);
          }
          launch.progress(`removing ${bottle.project}…`);
          await backend.down(bottle);
        }
      }
    });
}
