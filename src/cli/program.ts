// Builds the command tree and runs it, turning every error into a message and an exit
// code. The only place, with main.ts, that decides how failures look to a person.
import { Command, CommanderError } from "@commander-js/extra-typings";
import { BottleError } from "../shared/errors.js";
import { VERSION } from "../shared/version.js";
import { auditCommand } from "./audit-command.js";
import { cleanupCommand } from "./cleanup-command.js";
import { type CliContext, defaultContext } from "./cli-context.js";
import { composeCommand } from "./compose-command.js";
import { dashboardCommand } from "./dashboard-command.js";
import { demoCommand } from "./demo-command.js";
import { docsCommand } from "./docs-command.js";
import { doctorCommand } from "./doctor-command.js";
import { fetchCommand } from "./fetch-command.js";
import { infoCommand } from "./info-command.js";
import { initCommand } from "./init-command.js";
import type { CliIo } from "./io.js";
import { listCommand } from "./list-command.js";
import { renderCommand } from "./render-command.js";
import { resumeCommand } from "./resume-command.js";
import { startCommand } from "./start-command.js";
import { stopCommand } from "./stop-command.js";
import { superviseCommand } from "./supervise-command.js";

export function buildProgram(ctx: CliContext): Command {
  const { io } = ctx;
  const program = new Command("claude-bottle")
    .description(
      "Run AI coding agents with full permissions inside per-agent Docker bottles:\n" +
        "allowlisted egress, DLP, hidden credentials, scanned pushes and human approval.",
    )
    .version(VERSION)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      "\nThe documentation ships with it: `claude-bottle docs` lists the topics (manifests,\nthreat-model, agents, …) and `claude-bottle docs <topic>` prints one.",
    );
  // addCommand() does not copy these settings the way .command() would.
  const commands = [
    startCommand(ctx),
    resumeCommand(ctx),
    listCommand(ctx),
    infoCommand(ctx),
    stopCommand(ctx),
    cleanupCommand(ctx),
    doctorCommand(ctx),
    docsCommand(ctx),
    fetchCommand(ctx),
    initCommand(ctx),
    demoCommand(ctx),
    composeCommand(ctx),
    renderCommand(ctx),
    superviseCommand(ctx),
    auditCommand(ctx),
    dashboardCommand(ctx),
  ];
  for (const command of commands) {
    program.addCommand(command.copyInheritedSettings(program));
  }
  return program;
}

/** Runs the CLI and returns the exit code; never throws. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  makeContext: (io: CliIo) => CliContext = defaultContext,
): Promise<number> {
  try {
    const ctx = makeContext(io);
    await buildProgram(ctx).parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its own message (or the help text).
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof BottleError) {
    io.stderr(`claude-bottle: ${error.message}\n`);
    if (error.hint !== undefined) io.stderr(`  hint: ${error.hint}\n`);
    return error.exitCode;
  }
  const detail =
    error instanceof Error
      ? process.env.CLAUDE_BOTTLE_DEBUG
        ? error.stack
        : error.message
      : String(error);
  io.stderr(
    `claude-bottle: internal error: ${detail}\n  this is a bug; rerun with CLAUDE_BOTTLE_DEBUG=1 for the stack\n`,
  );
  return 70;
}
