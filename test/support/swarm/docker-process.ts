// The docker CLI for the swarm fixture: with an environment (DOCKER_HOST for the swarm's
// manager), stdin for what must never be in argv (secrets, compose files), a timeout, and
// `docker save | docker load` between two engines as one pipe.
import { spawn } from "node:child_process";
import { withOutput } from "../cli/process-output.js";
import type { ProcessResult } from "../docker/git-gate-docker.js";

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolve with a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  /** How long docker may run, 120 s unless told; 0 for no limit. */
  timeoutMs?: number;
}

export function runDocker(
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = withOutput(
      spawn("docker", args, {
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
      }),
    );
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const { stdout, stderr } = child.output();
      const result = { code: code ?? -1, stdout, stderr };
      if (result.code === 0 || options.allowFailure === true) {
        resolve(result);
        return;
      }
      const how = signal === null ? `exit code ${result.code}` : `signal ${signal}`;
      reject(new Error(`Command failed with ${how}: docker ${args.join(" ")}\n${stderr}`));
    });
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

/** `docker save <images> | docker exec -i <node> docker load`, failing with both sides' stderr. */
export function pipeImages(images: readonly string[], nodeContainer: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const save = spawn("docker", ["save", ...images], { stdio: ["ignore", "pipe", "pipe"] });
    const load = spawn("docker", ["exec", "-i", nodeContainer, "docker", "load", "-q"], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    let errors = "";
    save.stderr.setEncoding("utf8").on("data", (c: string) => {
      errors += c;
    });
    load.stderr.setEncoding("utf8").on("data", (c: string) => {
      errors += c;
    });
    save.stdout.pipe(load.stdin);
    load.stdin.on("error", () => {});
    const exits = [save, load].map(
      (p) =>
        new Promise<number>((done) => {
          p.on("error", () => done(-1));
          p.on("close", (code) => done(code ?? -1));
        }),
    );
    void Promise.all(exits).then(([saved, loaded]) => {
      if (saved === 0 && loaded === 0) resolve();
      else
        reject(
          new Error(
            `Command failed (save ${saved}, load ${loaded}): docker save ${images.join(" ")} | docker exec -i ${nodeContainer} docker load\n${errors}`,
          ),
        );
    });
  });
}
