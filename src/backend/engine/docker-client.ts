// The one seam between claude-bottle and the Docker engine: every docker and docker
// compose invocation goes through DockerClient, so failures carry the command and its
// stderr, a missing engine or Compose gives one clear error, and tests can see every call.
// Secret values travel only in the child's environment, never in argv.
import { spawn as spawnChild } from "node:child_process";
import { existsSync } from "node:fs";
import spawn, { SubprocessError } from "nano-spawn";
import { BottleError } from "../../shared/errors.js";
import { setupHostCommand } from "../../shared/installed-files.js";
import { MAKE_ROOM, NETWORKS_PER_BOTTLE } from "./address-pools.js";

export interface RunOptions {
  /** Text for the child's stdin. */
  input?: string;
  /** Extra environment for the child (merged over ours). Secret values go here, never in args. */
  env?: Record<string, string>;
  /** Let the child use our terminal (interactive exec, build progress). */
  inherit?: boolean;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  /** Kills the child when aborted. */
  signal?: AbortSignal;
  /**
   * Kills the child (its whole process group when `detached`) once this many milliseconds
   * have passed; the result then says `timedOut`. Every step of a teardown has one.
   */
  timeoutMs?: number;
  /**
   * Runs the child in a process group of its own, so that a Ctrl-C at the terminal (which
   * goes to the whole foreground group) cannot abort it: a bottle's removal, its harvest.
   */
  detached?: boolean;
  /**
   * The child is killed when this process dies, even by SIGKILL (the attached agent's
   * `docker exec`, which would otherwise run on with nobody to read it).
   */
  dieWithParent?: boolean;
  /**
   * Hands the child's stdout to this reader as it arrives, instead of collecting it as text
   * (`stdout` is then ""): what the agent hands back is a byte stream, bounded by the reader.
   * When the reader throws, the child is killed; the result then says how it ended (with
   * `allowFailure`), or the reader's error is thrown.
   */
  stdoutTo?: (stdout: AsyncIterable<Buffer>) => Promise<void>;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the child was killed at its `timeoutMs`. */
  timedOut?: boolean;
}

/** The exit code a child killed at its deadline reports (as timeout(1) does). */
export const TIMED_OUT_EXIT = 124;

/**
 * util-linux's setpriv sets the parent-death signal, which the kernel sends when this process
 * dies however it dies; where it is missing, the child is spawned as is.
 */
const SETPRIV = "/usr/bin/setpriv";

export interface DockerClient {
  run(args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

export class DockerError extends BottleError {
  readonly command: string;
  readonly stderr: string;

  constructor(command: string, exitCode: number | undefined, stderr: string, cause?: unknown) {
    const tail = stderr.trim().split("\n").slice(-8).join("\n");
    // An engine that does not answer is the same failure whatever was asked of it: say that,
    // not the `docker ps --format …` line that happened to find out.
    const engineDown = ENGINE_DOWN.exec(stderr);
    super(
      engineDown
        ? `no Docker engine answers (${engineDown[0].trim()})`
        : `command failed${exitCode === undefined ? "" : ` with exit code ${exitCode}`}: ${command}${tail ? `\n${tail}` : ""}`,
      { hint: hintFor(stderr), cause },
    );
    this.name = "DockerError";
    this.command = command;
    this.stderr = stderr;
  }
}

/** How the docker CLI says that no engine answers at the address it was given. */
const ENGINE_DOWN =
  /Cannot connect to the Docker daemon[^\n]*|docker daemon is not running[^\n]*|error during connect[^\n]*|dial unix [^\n]*(?:no such file or directory|connection refused)[^\n]*/i;

function hintFor(stderr: string): string | undefined {
  if (ENGINE_DOWN.test(stderr) || /connect: no such file/i.test(stderr)) {
    return `start the Docker engine, then retry (on Debian 12, ${setupHostCommand()} installs and starts one)`;
  }
  if (/'compose' is not a docker command|unknown (shorthand flag|command).*compose/i.test(stderr)) {
    return `install Docker Compose v2 (on Debian 12: ${setupHostCommand()})`;
  }
  if (/could not find an available, non-overlapping IPv4 address pool/i.test(stderr)) {
    // The engine's default pools hold 31 networks (see address-pools.ts).
    return `the engine has no network addresses left (each bottle uses ${NETWORKS_PER_BOTTLE} networks; \`claude-bottle doctor\` counts them): ${MAKE_ROOM}`;
  }
  if (/permission denied.*docker\.sock/i.test(stderr)) {
    return "add your user to the docker group, or run as root";
  }
  return undefined;
}

/** The real engine, through the docker CLI. */
export class DockerCli implements DockerClient {
  constructor(private readonly binary = "docker") {}

  async run(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (options.stdoutTo) return runStreaming(this.binary, args, options, options.stdoutTo);
    const command = [this.binary, ...args].join(" ");
    const [file, argv] =
      options.dieWithParent && existsSync(SETPRIV)
        ? [SETPRIV, ["--pdeathsig", "KILL", "--", this.binary, ...args]]
        : [this.binary, [...args]];
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const subprocess = spawn(file, argv, {
        ...(options.input !== undefined ? { stdin: { string: options.input } } : {}),
        ...(options.inherit ? { stdio: "inherit" as const } : {}),
        ...(options.env ? { env: options.env } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.detached ? { detached: true } : {}),
      });
      if (options.timeoutMs !== undefined) {
        // Handled below; this only keeps the rejection from counting as unhandled meanwhile.
        subprocess.catch(() => {});
        const child = await subprocess.nodeChildProcess.catch(() => null);
        timer = setTimeout(() => {
          timedOut = true;
          killTree(child?.pid, options.detached ?? false);
        }, options.timeoutMs);
      }
      const result = await subprocess;
      return { exitCode: 0, stdout: result.stdout, stderr: result.stderr };
    } catch (error) {
      if (!(error instanceof SubprocessError)) throw error;
      if (error.exitCode === undefined && /ENOENT/.test(error.message)) {
        throw new BottleError(`the docker CLI was not found (${this.binary})`, {
          hint: `install Docker (on Debian 12: ${setupHostCommand()})`,
          cause: error,
        });
      }
      if (timedOut) {
        const seconds = Math.round((options.timeoutMs ?? 0) / 1000);
        const stderr = `${error.stderr}${error.stderr.endsWith("\n") || error.stderr === "" ? "" : "\n"}no answer within ${seconds} s: stopped`;
        if (options.allowFailure) {
          return { exitCode: TIMED_OUT_EXIT, stdout: error.stdout, stderr, timedOut: true };
        }
        throw new DockerError(command, TIMED_OUT_EXIT, stderr, error);
      }
      if (options.allowFailure) {
        return { exitCode: error.exitCode ?? 1, stdout: error.stdout, stderr: error.stderr };
      }
      throw new DockerError(command, error.exitCode, error.stderr, error);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * `docker` whose every call runs in a process group of its own (a Ctrl-C cannot abort it) and
 * is killed by `deadline` (ms since the epoch): what a bottle's harvest and removal run on.
 */
export function boundedClient(docker: DockerClient, deadline: number): DockerClient {
  return {
    run: (args, options = {}) =>
      docker.run(args, {
        ...options,
        detached: true,
        // A step past the deadline still gets a moment: a call that answers at once is cheap.
        timeoutMs: Math.max(1_000, deadline - Date.now()),
      }),
  };
}

/** SIGKILL to the child, or to its whole group when it leads one (`docker compose` is two processes). */
function killTree(pid: number | undefined, group: boolean): void {
  if (pid === undefined) return;
  try {
    process.kill(group ? -pid : pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** Checks that the engine answers and Compose v2 is present; returns their versions. */
export async function checkEngine(
  docker: DockerClient,
): Promise<{ engine: string; compose: string }> {
  const engine = await docker.run(["version", "--format", "{{.Server.Version}}"], {
    allowFailure: true,
  });
  if (engine.exitCode !== 0 || engine.stdout.trim() === "") {
    throw new BottleError("no Docker engine answers", {
      hint:
        hintFor(engine.stderr) ?? `start the Docker engine (on Debian 12: ${setupHostCommand()})`,
    });
  }
  const compose = await docker.run(["compose", "version", "--short"], { allowFailure: true });
  if (compose.exitCode !== 0) {
    // Only a docker that does not know the command lacks Compose; any other failure is said in
    // docker's own words.
    if (/not a docker command|unknown command/i.test(compose.stderr)) {
      throw new BottleError(
        "Docker Compose v2 is not installed (`docker compose version` failed)",
        {
          hint: `install Docker Compose v2 (on Debian 12: ${setupHostCommand()})`,
        },
      );
    }
    throw new DockerError("docker compose version --short", compose.exitCode, compose.stderr);
  }
  return { engine: engine.stdout.trim(), compose: compose.stdout.trim().replace(/^v/, "") };
}

/** Keeps the last `max` characters of what a child says on stderr. */
const STDERR_TAIL = 64 * 1024;

/** `run` for a child whose stdout is a byte stream read by `reader` (see RunOptions.stdoutTo). */
async function runStreaming(
  binary: string,
  args: readonly string[],
  options: RunOptions,
  reader: (stdout: AsyncIterable<Buffer>) => Promise<void>,
): Promise<RunResult> {
  const child = spawnChild(binary, [...args], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL);
  });
  let timedOut = false;
  const kill = () => killTree(child.pid, options.detached ?? false);
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          kill();
        }, options.timeoutMs);
  options.signal?.addEventListener("abort", kill, { once: true });
  const exited = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  try {
    if (child.stdout === null) throw new Error("no stdout");
    let readerFailed: { error: unknown } | null = null;
    await reader(child.stdout).catch((error: unknown) => {
      readerFailed = { error };
      kill();
    });
    const exitCode = await exited.catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new BottleError(`the docker CLI was not found (${binary})`, {
          hint: `install Docker (on Debian 12: ${setupHostCommand()})`,
          cause: error,
        });
      }
      throw error;
    });
    const result: RunResult = timedOut
      ? {
          exitCode: TIMED_OUT_EXIT,
          stdout: "",
          stderr: `${stderr}\nno answer in time: stopped`,
          timedOut,
        }
      : { exitCode, stdout: "", stderr };
    if (options.allowFailure) return result;
    if (readerFailed !== null) throw (readerFailed as { error: unknown }).error;
    if (result.exitCode !== 0) {
      throw new DockerError([binary, ...args].join(" "), result.exitCode, result.stderr);
    }
    return result;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", kill);
  }
}
