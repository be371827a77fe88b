// `claude-bottle cleanup`: removes every bottle whose CLI is gone (killed, crashed, or the
// machine rebooted): its Compose project, stray containers and networks, and state dir.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { backendFor, backendOption } from "./backend-option.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { confirm } from "./confirm.js";
import { bottleSummary } from "./list-command.js";

export function cleanupCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("cleanup")
    .description("remove bottles left behind by a CLI that is no longer running")
    .option("-y, --yes", "remove without asking")
    .option("--all", "also remove bottles whose CLI is still attached")
    .option("--json", "print what was removed as JSON")
    .addOption(backendOption())
    .action(async (options) => {
      const backend = backendFor(launchContextOf(ctx), options);
      const bottles = await backend.list();
      const doomed = bottles.filter((b) => options.all || !b.attached);
      const kept = bottles.length - doomed.length;
      if (doomed.length === 0) {
        if (options.json) ctx.io.stdout("[]\n");
        else
          ctx.io.stderr(
            `nothing to clean up${kept > 0 ? ` (${kept} attached bottle(s) kept; --all removes them too)` : ""}\n`,
          );
        return;
      }
      ctx.io.stderr("will remove:\n");
      for (const b of doomed) {
        const what = [
          `${b.containers.length} container(s)`,
          `${b.networks.length} network(s)`,
          b.stateDir === null ? "no state dir" : `state ${b.stateDir}`,
        ];
        ctx.io.stderr(`  ${b.slug}: ${what.join(", ")}\n`);
      }
      if (!(await confirm(ctx, `remove ${doomed.length} bottle(s)?`, options.yes ?? false))) {
        ctx.io.stderr("nothing removed\n");
        ctx.exitCode = 1;
        return;
      }
      for (const b of doomed) {
        await backend.down(b);
        ctx.io.stderr(`removed ${b.slug}\n`);
      }
      if (options.json) ctx.io.stdout(`${JSON.stringify(doomed.map(bottleSummary), null, 2)}\n`);
    });
}
