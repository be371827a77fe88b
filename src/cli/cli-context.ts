// What every command needs from the outside world, gathered once so commands stay
// testable: the docker seam, the environment, the clock, randomness and the streams.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { DockerCli, type DockerClient } from "../backend/engine/docker-client.js";
import type { LaunchContext } from "../backend/start-plan.js";
import { resolveManifestPaths } from "../manifest/index.js";
import type { CliIo } from "./io.js";

export interface CliContext {
  io: CliIo;
  docker: DockerClient;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdinIsTty: boolean;
  now: () => Date;
  suffix: () => string;
  /** Package root: holds images/, dist/sidecars/ and examples/. */
  packageRoot: string;
  /** Set by a command whose outcome is not success (e.g. the agent's own exit code). */
  exitCode: number;
}

export function defaultContext(io: CliIo): CliContext {
  return {
    io,
    docker: new DockerCli(),
    env: process.env,
    cwd: process.cwd(),
    stdinIsTty: Boolean(process.stdin.isTTY),
    now: () => new Date(),
    // 4 bytes: 50 bottles at once draw the same slug about once in 3 million tries (2 bytes:
    // 2 in 100); the state directory is claimed exclusively in any case.
    suffix: () => randomBytes(4).toString("hex"),
    // Two levels up from src/cli/ and from dist/cli/ alike.
    packageRoot: fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, ""),
    exitCode: 0,
  };
}

export function launchContextOf(ctx: CliContext): LaunchContext {
  const paths = resolveManifestPaths({ env: ctx.env });
  return {
    docker: ctx.docker,
    home: paths.home,
    userHome: paths.userHome,
    buildContext: ctx.packageRoot,
    env: ctx.env,
    now: ctx.now,
    suffix: ctx.suffix,
    progress: (line) => ctx.io.stderr(`• ${line}\n`),
  };
}
