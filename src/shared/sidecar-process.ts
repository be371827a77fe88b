// How every long-running sidecar process starts and stops (pipelock, egress, supervise): its
// main.ts reads its settings with its one reader and hands `start` to runSidecar, which is the
// only place a sidecar server prints a refusal or exits.
// - A BottleError while starting: "<name>: refusing to start: <message>" and its hint on
//   stderr, exit with its code (2 for bad input). Anything else is a bug and says so, exit 1.
// - SIGTERM or SIGINT: close, then exit 0 (1 when closing failed). SIGHUP: reload, if the
//   sidecar has one.
// - Once serving, an error no handler caught is logged as one JSON line and the process keeps
//   serving: one connection's bug must not take the bottle offline (every socket error is
//   handled where it happens, so this is a bug too).
import { BottleError } from "./errors.js";
import { envWithSecretFiles } from "./secret-files.js";

export interface RunningSidecar {
  close(): Promise<void>;
  /** Applies the sidecar's settings again (SIGHUP); a sidecar without it ignores SIGHUP. */
  reload?(): Promise<unknown>;
  /** Hides secrets the sidecar holds from a line it is about to log. */
  redact?(text: string): string;
}

export interface SidecarEntry<S extends RunningSidecar> {
  /** The name every line it prints starts with. */
  name: string;
  /** Reads the settings and starts serving; the environment has its secret files read in. */
  start(env: NodeJS.ProcessEnv): Promise<S>;
}

export async function runSidecar<S extends RunningSidecar>(entry: SidecarEntry<S>): Promise<void> {
  let running: S;
  try {
    running = await entry.start(envWithSecretFiles(process.env));
  } catch (error) {
    process.stderr.write(startFailure(entry.name, error));
    process.exit(error instanceof BottleError ? error.exitCode : 1);
  }
  const stop = () => {
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const reload = running.reload?.bind(running);
  if (reload) process.on("SIGHUP", () => void reload());
  const report = (error: unknown) => {
    const text = stackOf(error);
    process.stderr.write(
      `${JSON.stringify({
        time: new Date().toISOString(),
        event: "internal-error",
        error: running.redact ? running.redact(text) : text,
      })}\n`,
    );
  };
  process.on("uncaughtException", report);
  process.on("unhandledRejection", report);
}

/** What a sidecar prints when it cannot start: the user's to fix (with the hint) or a bug. */
export function startFailure(name: string, error: unknown): string {
  if (error instanceof BottleError) {
    return `${name}: refusing to start: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`;
  }
  return `${name}: failed to start (a bug): ${stackOf(error)}\n`;
}

function stackOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
