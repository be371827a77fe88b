// `claude-bottle demo`: the whole product in one command, offline.
import { fileURLToPath } from "node:url";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import type { DemoStepResult } from "../demo/demo-steps.js";
import { runDemo } from "../demo/run-demo.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { formatTable } from "./format-table.js";

export function demoCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("demo")
    .description(
      "run a real bottle against local stand-ins and show what it allows, refuses and hides",
    )
    .option("--json", "print the step results as JSON")
    .addHelpText(
      "after",
      `
Builds what it needs, starts a bottle from built-in manifests with a stand-in model API
(HTTPS) and an sshd git host as local containers, and runs each step inside the agent:
intercepted TLS to an allowed host, an unlisted host refused, a credential blocked by
DLP, a route token injected that the agent never sees, a secret push rejected by gitleaks
and a clean one landing, a supervise approval opening a host live, and the real Claude Code run headless against a
stand-in model API (its program is taken from the agent cache, fetched once with this
host's npm when missing; the step says so and is skipped when it cannot be had). Needs
no internet otherwise.
Everything it creates is removed at the end; your ~/.claude-bottle is not touched.
Exits non-zero if any step does not behave.`,
    )
    .action(async (options) => {
      const launch = launchContextOf(ctx);
      const results = await runDemo({
        launch,
        stubServerScript: fileURLToPath(
          new URL("../demo/stub-upstream-server.mjs", import.meta.url),
        ),
        onStep: (step) =>
          ctx.io.stderr(
            `${step.skipped ? "–" : step.ok ? "✔" : "✘"} ${step.title}\n    ${step.detail}\n`,
          ),
      });
      if (options.json) ctx.io.stdout(`${JSON.stringify(results, null, 2)}\n`);
      else ctx.io.stdout(`\n${summary(results)}`);
      if (results.some((r) => !r.ok)) ctx.exitCode = 1;
    });
}

function summary(results: DemoStepResult[]): string {
  const run = results.filter((r) => !r.skipped);
  const passed = run.filter((r) => r.ok).length;
  const skipped = results.length - run.length;
  const table = formatTable(
    ["", "STEP", "OBSERVED"],
    results.map((r) => [r.skipped ? "skip" : r.ok ? "ok" : "FAIL", r.title, r.detail]),
  );
  return `${table}\n${passed} of ${run.length} steps behaved${skipped > 0 ? `, ${skipped} skipped` : ""}${passed === run.length ? "" : ": see FAIL above"}\n`;
}
