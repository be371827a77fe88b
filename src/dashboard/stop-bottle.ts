// The dashboard's stop button: runs `claude-bottle stop <slug>` itself, the same path a user
// types (the agent's work kept first, then the bottle removed within its bound), as a child
// process with an argv (never a shell string), and says how it went. A second press for a
// bottle already being stopped waits for the first, instead of starting another.
import { spawn } from "node:child_process";

export interface StopOutcome {
  ok: boolean;
  /** The exit code of `stop`, or null when it was killed. */
  exitCode: number | null;
  /** The end of what it printed (stderr, then stdout): already terminal-safe, shown as text. */
  output: string;
}

export type StopBottle = (slug: string) => Promise<StopOutcome>;

const MAX_OUTPUT = 8 * 1024;

/**
 * A stopper that runs the CLI at `cliMain` with node: `node <cliMain> stop <slug> --backend
 * <backend>`, in `env`; killed after `timeoutMs` (stop bounds itself; this is the net under it).
 */
export function cliStopper(options: {
  cliMain: string;
  backend: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  node?: string;
}): StopBottle {
  const running = new Map<string, Promise<StopOutcome>>();
  return (slug) => {
    const already = running.get(slug);
    if (already !== undefined) return already;
    const stopping = new Promise<StopOutcome>((resolve) => {
      const child = spawn(
        options.node ?? process.execPath,
        [options.cliMain, "stop", slug, "--backend", options.backend],
        { env: options.env, stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      const keep = (chunk: Buffer) => {
        out = (out + chunk.toString("utf8")).slice(-MAX_OUTPUT);
      };
      child.stdout.on("data", keep);
      child.stderr.on("data", keep);
      const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
      child.once("error", (error) => {
        clearTimeout(timer);
        resolve({ ok: false, exitCode: null, output: `could not run stop: ${error.message}` });
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve({ ok: code === 0, exitCode: code, output: out.trim() });
      });
    });
    running.set(slug, stopping);
    stopping.finally(() => running.delete(slug)).catch(() => {});
    return stopping;
  };
}
