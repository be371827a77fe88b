// Everything a child process writes, gathered as it runs, for tests that read a process's
// output while it runs or once it has ended.
import type { ChildProcess } from "node:child_process";

export interface ProcessOutput {
  /** The exit code so far: null while the process runs. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The child with `output()`: its exit code so far and everything it has written. */
export function withOutput<C extends ChildProcess>(child: C): C & { output: () => ProcessOutput } {
  let stdout = "";
  let stderr = "";
  // Decoded as a stream: a character split across two chunks stays whole.
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  return Object.assign(child, { output: () => ({ code: child.exitCode, stdout, stderr }) });
}
