// `claude-bottle list`: the bottles on this machine, from the engine's labels and the state dirs.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import type { FoundBottle } from "../backend/backend.js";
import { bottleSummary } from "../backend/bottle-summary.js";
import { closestMatch } from "../shared/did-you-mean.js";
import { InputError } from "../shared/errors.js";
import { terminalSafe, terminalSafeJson } from "../shared/terminal-text.js";
import { backendFor, backendOption } from "./backend-option.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { formatTable } from "./format-table.js";

export function listCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("list")
    .alias("ls")
    .description("list the bottles on this machine (running, stopped, or left behind)")
    .option("--json", "print JSON for scripts")
    .addOption(backendOption())
    .action(async (options) => {
      const bottles = await backendFor(launchContextOf(ctx), options).list();
      ctx.io.stdout(options.json ? bottleListJson(bottles) : formatBottleList(bottles));
    });
}

/** `list --json`: every value as read, escaped where a terminal would act on it. */
export function bottleListJson(bottles: readonly FoundBottle[]): string {
  return `${terminalSafeJson(bottles.map(bottleSummary), 2)}\n`;
}

/**
 * The `list` table. Slugs and services come from engine labels, the agent's name from the
 * state directory: each cell is shown through terminalSafe.
 */
export function formatBottleList(bottles: readonly FoundBottle[]): string {
  if (bottles.length === 0) return "no bottles\n";
  return formatTable(
    ["SLUG", "AGENT", "STATE", "SERVICES", "CLI"],
    bottles.map((b) => {
      const s = bottleSummary(b);
      return [
        terminalSafe(s.slug),
        terminalSafe(
          s.agent ??
            `${agentOfSlug(s.slug)} (${s.stateDir === null ? "no state" : "state unreadable"})`,
        ),
        terminalSafe(s.state),
        terminalSafe(s.services.join(",")),
        s.attached ? "attached" : "gone",
      ];
    }),
  );
}

/** A slug is `<agent>-<random hex>`: the agent's name, for a bottle whose state is gone. */
export function agentOfSlug(slug: string): string {
  return slug.replace(/-[0-9a-f]+$/, "");
}

/** The bottle with this slug, or an error naming the nearest one and how to list them. */
export function bottleNamed(bottles: readonly FoundBottle[], slug: string): FoundBottle {
  const bottle = bottles.find((b) => b.slug === slug);
  if (bottle !== undefined) return bottle;
  const near = closestMatch(
    slug,
    bottles.map((b) => b.slug),
  );
  throw new InputError(
    `no bottle "${terminalSafe(slug)}"${near === undefined ? "" : ` (did you mean "${terminalSafe(near)}"?)`}`,
    {
      hint: "run `claude-bottle list` to see the bottles on this machine",
    },
  );
}
