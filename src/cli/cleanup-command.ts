// `claude-bottle cleanup`: removes every bottle whose CLI is gone (killed, crashed, or the
// machine rebooted): its Compose project, stray containers and networks, and state dir;
// the agent's work is kept first, as `stop` keeps it.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { bottleSummary } from "../backend/bottle-summary.js";
import { stopBudgetOf } from "../backend/end-bottle.js";
import { terminalSafe, terminalSafeJson } from "../shared/terminal-text.js";
import { backendFor, backendOption } from "./backend-option.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { confirm } from "./confirm.js";
import { endAll } from "./stop-command.js";

export function cleanupCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("cleanup")
    .description("remove bottles left behind by a CLI that is no longer running")
    .option("-y, --yes", "remove without asking")
    .option(
      "--all",
      "also remove bottles whose CLI is still attached, and those started with --detach",
    )
    .option("--json", "print what was removed as JSON")
    .addOption(backendOption())
    .addHelpText(
      "after",
      `
Each bottle's work is kept before it is removed, as \`claude-bottle stop\` keeps it; an
attached CLI (--all) then says that cleanup removed its bottle.`,
    )
    .action(async (options) => {
      const launch = launchContextOf(ctx);
      const backend = backendFor(launch, options);
      const budget = stopBudgetOf(ctx.env);
      const bottles = await backend.list();
      // A bottle started with --detach has no CLI on purpose: it is kept like an attached one.
      const doomed = bottles.filter((b) => options.all || !(b.attached || b.metadata?.detached));
      const kept = bottles.length - doomed.length;
      if (doomed.length === 0) {
        if (options.json) ctx.io.stdout("[]\n");
        else
          ctx.io.stderr(
            `nothing to clean up${kept > 0 ? ` (${kept} attached or detached bottle(s) kept; --all removes them too)` : ""}\n`,
          );
        return;
      }
      ctx.io.stderr("will remove:\n");
      for (const b of doomed) {
        const what = [
          `${b.containers.length} container(s)`,
          `${b.networks.length} network(s)`,
          b.stateDir === null ? "no state dir" : `state ${terminalSafe(b.stateDir)}`,
        ];
        ctx.io.stderr(`  ${terminalSafe(b.slug)}: ${what.join(", ")}\n`);
      }
      if (!(await confirm(ctx, `remove ${doomed.length} bottle(s)?`, options.yes ?? false))) {
        ctx.io.stderr("nothing removed\n");
        ctx.exitCode = 1;
        return;
      }
      await endAll(
        ctx,
        doomed,
        { launch, backend, budget, command: "cleanup" },
        (b) => `removed ${terminalSafe(b.slug)}`,
      );
      if (options.json) ctx.io.stdout(`${terminalSafeJson(doomed.map(bottleSummary), 2)}\n`);
    });
}
