// `claude-bottle stop <slug>`: removes one bottle now, wherever its CLI is.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { discoverBottles, removeBottle } from "../backend/docker/discover-bottles.js";
import { didYouMean } from "../shared/did-you-mean.js";
import { InputError } from "../shared/errors.js";
import { type CliContext, launchContextOf } from "./cli-context.js";

export function stopCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("stop")
    .description("stop a bottle and remove its containers, networks and state")
    .argument("<slug...>", "the bottle's slug, as `claude-bottle list` shows it")
    .action(async (slugs) => {
      const bottles = await discoverBottles(ctx.docker, launchContextOf(ctx).home);
      const known = bottles.map((b) => b.slug);
      for (const slug of slugs) {
        if (!known.includes(slug)) {
          throw new InputError(`no bottle "${slug}"${didYouMean(slug, known)}`, {
            hint: "run `claude-bottle list` to see the bottles on this machine",
          });
        }
      }
      for (const bottle of bottles.filter((b) => slugs.includes(b.slug))) {
        await removeBottle(ctx.docker, bottle);
        ctx.io.stderr(`stopped ${bottle.slug}\n`);
      }
    });
}
