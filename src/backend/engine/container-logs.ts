// A container's log read through the docker CLI, one channel at a time: `docker logs` for a
// container of this engine (Compose); Swarm's `docker service logs` reads through the same
// stream (swarm/service-logs.ts).
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import type { LogChannel, LogRange, LogStream, OpenLog } from "../backend.js";

/** `--since` the moment `from` starts at, or else `--tail` its number of lines. */
export function sinceOrTail(from: LogRange): string[] {
  if (from.since !== null) return ["--since", from.since];
  return from.tail === "all" ? [] : ["--tail", String(from.tail)];
}

/** `docker <args>`, read on one channel only; ended when the command is. */
export function dockerLogStream(
  args: readonly string[],
  channel: LogChannel,
  env: NodeJS.ProcessEnv = process.env,
): LogStream {
  const stdio: ["ignore", "pipe" | "ignore", "pipe" | "ignore"] =
    channel === "stdout" ? ["ignore", "pipe", "ignore"] : ["ignore", "ignore", "pipe"];
  const child = spawn("docker", [...args], { stdio, env });
  const out = (channel === "stdout" ? child.stdout : child.stderr) as Readable;
  const ended = new Promise<void>((resolve) => {
    child.on("close", () => resolve());
    child.on("error", () => resolve());
  });
  return { stdout: out, stop: () => child.kill("SIGTERM"), ended };
}

/** `docker logs`, followed unless it has an end, reading only the channel decisions are on. */
export const dockerLogs: OpenLog = (container, from) =>
  dockerLogStream(
    [
      "logs",
      ...(from.until === undefined ? ["--follow"] : ["--until", from.until]),
      ...sinceOrTail(from),
      container,
    ],
    from.channel,
  );
