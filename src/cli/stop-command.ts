// `claude-bottle stop <slug>`: removes one bottle now, wherever its CLI is.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { backendFor, backendOption } from "./backend-option.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { bottleNamed } from "./list-command.js";

export function stopCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("stop")
    .description("stop a bottle and remove its containers, networks and state")
    .argument("<slug...>", "the bottle's slug, as `claude-bottle list` shows it")
    .addOption(backendOption())
    .action(async (slugs, options) => {
      const backend = backendFor(launchContextOf(ctx), options);
      const bottles = await backend.list();
      for (const slug of slugs) bottleNamed(bottles, slug);
      for (const bottle of bottles.filter((b) => slugs.includes(b.slug))) {
        await backend.down(bottle);
        ctx.io.stderr(`stopped ${bottle.slug}\n`);
      }
    });
}
