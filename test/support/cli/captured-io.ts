// A CliIo that keeps what a command writes, for tests that run the CLI in-process.
import type { CliIo } from "../../../src/cli/io.js";
import { runCli } from "../../../src/cli/program.js";

export function capturedIo(): { io: CliIo; stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return {
    io: {
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        err += t;
      },
    },
    stdout: () => out,
    stderr: () => err,
  };
}

/** Runs the CLI in this process with the default context; its exit code and output. */
export async function runCliCaptured(...argv: string[]) {
  const c = capturedIo();
  const code = await runCli(argv, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}
