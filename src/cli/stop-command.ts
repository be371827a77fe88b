// `claude-bottle stop <slug>`: removes one bottle now, wherever its CLI is.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { discoverBottles, removeBottle } from "../backend/docker/discover-bottles.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { bottleNamed } from "./list-command.js";

export function stopCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("stop")
    .description("stop a bottle and remove its containers, networks and state")
    .argument("<slug...>", "the bottle's slug, as `claude-bottle list` shows it")
    .action(async (slugs) => {
      const bottles = await discoverBottles(ctx.docker, launchContextOf(ctx).home);
      for (const slug of slugs) bottleNamed(bottles, slug);
      for (const bottle of bottles.filter((b) => slugs.includes(b.slug))) {
        await removeBottle(ctx.docker, bottle);
        ctx.io.stderr(`stopped ${bottle.slug}\n`);
      }
    });
}
