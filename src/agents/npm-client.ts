// The seam to the host's npm, which carries the user's registry, proxy and auth settings:
// agent packages are fetched with `npm pack` and checked against `npm view`, never from
// inside a container. A missing npm or a failed command becomes one error that names the
// command and npm's last line, and says what to run.
import spawn, { SubprocessError } from "nano-spawn";
import { BottleError } from "../shared/errors.js";

export interface NpmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface NpmClient {
  /** Runs `npm <args>` in `cwd`; never throws for a non-zero exit. */
  run(args: readonly string[], options: { cwd: string; signal?: AbortSignal }): Promise<NpmResult>;
}

export class NpmCli implements NpmClient {
  /** `env`: variables over ours, e.g. npm_config_cache; npm reads its settings from them. */
  constructor(private readonly env: Record<string, string> = {}) {}

  async run(
    args: readonly string[],
    options: { cwd: string; signal?: AbortSignal },
  ): Promise<NpmResult> {
    try {
      const result = await spawn("npm", [...args], {
        cwd: options.cwd,
        env: this.env,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return { exitCode: 0, stdout: result.stdout, stderr: result.stderr };
    } catch (error) {
      if (!(error instanceof SubprocessError)) throw error;
      if (error.exitCode === undefined && /ENOENT/.test(error.message)) {
        throw new BottleError(
          "npm is not installed on this host; agent programs are fetched with it",
          { hint: "install Node.js with npm (node 20 or newer), then run: npm ping", cause: error },
        );
      }
      return { exitCode: error.exitCode ?? 1, stdout: error.stdout, stderr: error.stderr };
    }
  }
}

/** npm's last meaningful line: what a person needs to see of a failure. */
export function npmLastLine(result: NpmResult): string {
  const lines = `${result.stderr}\n${result.stdout}`
    .split("\n")
    .map((l) => l.replace(/^npm (error|ERR!|warn)\s*/i, "").trim())
    .filter((l) => l !== "" && !/complete log of this run/i.test(l));
  const code = lines.find((l) => /^code E/.test(l));
  const summary = lines.find((l) => /^(404|403|401|network|request to)/i.test(l));
  return summary ?? code ?? lines.at(-1) ?? `exit code ${result.exitCode}`;
}

export const NPM_FIX_HINT =
  "check the registry with `npm config get registry`, then run: npm ping (a proxy or an offline host needs npm's own settings)";

export function npmFailure(command: string, result: NpmResult): BottleError {
  return new BottleError(`${command} failed: ${npmLastLine(result)}`, { hint: NPM_FIX_HINT });
}
