// The one seam between claude-bottle and the Docker engine: every docker and docker
// compose invocation goes through DockerClient, so failures carry the command and its
// stderr, a missing engine or Compose gives one clear error, and tests can see every call.
// Secret values travel only in the child's environment, never in argv.
import spawn, { SubprocessError } from "nano-spawn";
import { BottleError } from "../../shared/errors.js";

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
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface DockerClient {
  run(args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

export class DockerError extends BottleError {
  readonly command: string;
  readonly stderr: string;

  constructor(command: string, exitCode: number | undefined, stderr: string, cause?: unknown) {
    const tail = stderr.trim().split("\n").slice(-8).join("\n");
    super(
      `command failed${exitCode === undefined ? "" : ` with exit code ${exitCode}`}: ${command}${tail ? `\n${tail}` : ""}`,
      { hint: hintFor(stderr), cause },
    );
    this.name = "DockerError";
    this.command = command;
    this.stderr = stderr;
  }
}

function hintFor(stderr: string): string | undefined {
  if (
    /Cannot connect to the Docker daemon|docker daemon is not running|connect: no such file/i.test(
      stderr,
    )
  ) {
    return "start the Docker engine (on Debian: sudo bash scripts/setup-host.sh), then retry";
  }
  if (/'compose' is not a docker command|unknown (shorthand flag|command).*compose/i.test(stderr)) {
    return "install Docker Compose v2 (on Debian: sudo bash scripts/setup-host.sh)";
  }
  if (/could not find an available, non-overlapping IPv4 address pool/i.test(stderr)) {
    // Each bottle makes two networks; the engine's default pools hold about thirty.
    return "the engine has no network addresses left (each bottle uses two networks): remove bottles left behind with `claude-bottle cleanup`, or give the engine more with default-address-pools in /etc/docker/daemon.json";
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
    const command = [this.binary, ...args].join(" ");
    try {
      const result = await spawn(this.binary, [...args], {
        ...(options.input !== undefined ? { stdin: { string: options.input } } : {}),
        ...(options.inherit ? { stdio: "inherit" as const } : {}),
        ...(options.env ? { env: options.env } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return { exitCode: 0, stdout: result.stdout, stderr: result.stderr };
    } catch (error) {
      if (!(error instanceof SubprocessError)) throw error;
      if (error.exitCode === undefined && /ENOENT/.test(error.message)) {
        throw new BottleError(`the docker CLI was not found (${this.binary})`, {
          hint: "install Docker (on Debian: sudo bash scripts/setup-host.sh)",
          cause: error,
        });
      }
      if (options.allowFailure) {
        return { exitCode: error.exitCode ?? 1, stdout: error.stdout, stderr: error.stderr };
      }
      throw new DockerError(command, error.exitCode, error.stderr, error);
    }
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
        hintFor(engine.stderr) ??
        "start the Docker engine (on Debian: sudo bash scripts/setup-host.sh)",
    });
  }
  const compose = await docker.run(["compose", "version", "--short"], { allowFailure: true });
  if (compose.exitCode !== 0) {
    throw new BottleError("Docker Compose v2 is not installed (`docker compose version` failed)", {
      hint: "install Docker Compose v2 (on Debian: sudo bash scripts/setup-host.sh)",
    });
  }
  return { engine: engine.stdout.trim(), compose: compose.stdout.trim().replace(/^v/, "") };
}
