// The decision logs of a swarm bottle's sidecars, which run on another node: `docker service
// logs` on the manager, which gathers each task's log from its node, stdout and stderr apart.
// It has no --until; a read up to a moment asks for timestamps and drops every line after it,
// so that a log read whole and then followed from that moment counts no line twice.
import { spawn } from "node:child_process";
import { Readable } from "node:stream";
import { LineSplitter } from "./decision-events.js";
import type { LogStream, OpenLog } from "./log-follower.js";

/** An RFC 3339 timestamp, as `--timestamps` puts before each line, and the line. */
const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (.*)$/;

/** Whether a nanosecond timestamp is after `end` (ms since the epoch, as Date.parse gives). */
function isAfter(stamp: string, end: number): boolean {
  const ms = Date.parse(stamp);
  if (ms !== end) return ms > end;
  // Date.parse keeps milliseconds: a stamp in the same one is after it by any digit beyond.
  return /\.\d{3}\d*[1-9]/.test(stamp);
}

/** The lines of `stamped` at or before `until`, without their timestamps. */
export async function* linesUntil(
  stamped: AsyncIterable<string | Buffer>,
  until: string,
): AsyncGenerator<string> {
  const end = Date.parse(until);
  const lines = new LineSplitter();
  for await (const chunk of stamped) {
    for (const line of lines.push(chunk.toString())) {
      const m = STAMPED.exec(line);
      if (m === null) continue;
      if (isAfter(m[1] as string, end)) return;
      yield `${m[2]}\n`;
    }
  }
}

/** `docker service logs` of a service, through the manager at `manager` (null: this engine). */
export function serviceLogs(manager: string | null): OpenLog {
  return (service, from) => {
    const args = ["service", "logs", "--raw"];
    if (from.until === undefined) args.push("--follow");
    else args.push("--timestamps");
    if (from.since !== null) args.push("--since", from.since);
    else if (from.tail !== "all") args.push("--tail", String(from.tail));
    const stdio: ["ignore", "pipe" | "ignore", "pipe" | "ignore"] =
      from.channel === "stdout" ? ["ignore", "pipe", "ignore"] : ["ignore", "ignore", "pipe"];
    const env = manager === null ? process.env : { ...process.env, DOCKER_HOST: manager };
    const child = spawn("docker", [...args, service], { stdio, env });
    const raw = (from.channel === "stdout" ? child.stdout : child.stderr) as Readable;
    const out = from.until === undefined ? raw : Readable.from(linesUntil(raw, from.until));
    // Ended once the last line is out: the lines up to a moment pass through a filter first.
    const ended = new Promise<void>((resolve) => {
      child.on("error", () => resolve());
      if (out === raw) child.on("close", () => resolve());
      else out.on("close", () => resolve());
    });
    const stream: LogStream = { stdout: out, stop: () => child.kill("SIGTERM"), ended };
    return stream;
  };
}
