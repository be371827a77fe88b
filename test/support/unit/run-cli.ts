// Runs the CLI in this process over a context the test adjusts, keeping what it prints.
import { type CliContext, defaultContext } from "../../../src/cli/cli-context.js";
import type { CliIo } from "../../../src/cli/io.js";
import { runCli } from "../../../src/cli/program.js";
import { capturedIo } from "../cli/captured-io.js";

/** What a test changes in the default context: a docker stand-in, the env, the clock. */
export type ContextChanges = Partial<Omit<CliContext, "io">>;

/** The default context for `io` with `changes` laid over it. */
export function contextWith(changes: ContextChanges): (io: CliIo) => CliContext {
  return (io) => ({ ...defaultContext(io), ...changes });
}

/** Runs `argv` over the changed context; its exit code and output. */
export async function runCliWith(changes: ContextChanges, ...argv: string[]) {
  const c = capturedIo();
  const code = await runCli(argv, c.io, contextWith(changes));
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}
