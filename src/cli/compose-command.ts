// `claude-bottle compose --plan FILE.json`: prints the Compose spec a plan renders to.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { readComposeFacts } from "../backend/compose-facts.js";
import { loadPlanFile } from "../backend/plan-file.js";
import { bottlePlanToCompose } from "../core/compose.js";
import { renderComposeYaml } from "../core/compose-yaml.js";
import type { CliContext } from "./cli-context.js";

export function composeCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("compose")
    .description("print the Compose v2 spec that a resolved bottle plan renders to")
    .requiredOption("--plan <file>", "a resolved DockerBottlePlan as JSON (see examples/plans/)")
    .option("--json", "print the spec as JSON instead of YAML")
    .addHelpText(
      "after",
      "\nNothing is started: this only renders. Secrets appear by name only; their values\nare read by `docker compose up` from its own environment.\n\nExample:\n  claude-bottle compose --plan examples/plans/full.json",
    )
    .action(async (options) => {
      const plan = await loadPlanFile(options.plan);
      const spec = bottlePlanToCompose(plan, readComposeFacts(plan));
      ctx.io.stdout(options.json ? `${JSON.stringify(spec, null, 2)}\n` : renderComposeYaml(spec));
    });
}
