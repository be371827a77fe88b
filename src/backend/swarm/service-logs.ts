// The decision logs of a swarm bottle's sidecars, which run on another node: `docker service
// logs` on the manager, which gathers each task's log from its node, stdout and stderr apart.
// It has no --until; a read up to a moment asks for timestamps and drops every line after it,
// so that a log read whole and then followed from that moment counts no line twice.
import { Readable } from "node:stream";
import { LineSplitter } from "../../shared/line-splitter.js";
import type { OpenLog } from "../backend.js";
import { dockerLogStream, sinceOrTail } from "../engine/container-logs.js";

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
  const env = manager === null ? process.env : { ...process.env, DOCKER_HOST: manager };
  return (service, from) => {
    const stream = dockerLogStream(
      [
        "service",
        "logs",
        "--raw",
        from.until === undefined ? "--follow" : "--timestamps",
        ...sinceOrTail(from),
        service,
      ],
      from.channel,
      env,
    );
    if (from.until === undefined) return stream;
    // Ended once the last line is out: the lines up to a moment pass through a filter first.
    const out = Readable.from(linesUntil(stream.stdout, from.until));
    const ended = new Promise<void>((resolve) => out.on("close", () => resolve()));
    return { stdout: out, stop: stream.stop, ended };
  };
}
