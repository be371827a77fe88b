// What the engine reports (`docker events --format '{{json .}}'`), read one line at a time.
// Each backend says which of these are its bottles' and what they concern.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface EngineEvent {
  action: string;
  /** The actor's attributes: a container's labels, a service's name. */
  attributes: Record<string, string>;
  time: Date;
}

/** One line of `docker events` JSON; null for a line that is not an event. */
export function readEngineEvent(line: string): EngineEvent | null {
  let raw: {
    Action?: unknown;
    timeNano?: unknown;
    Actor?: { Attributes?: Record<string, string> };
  };
  try {
    raw = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof raw?.Action !== "string") return null;
  return {
    action: raw.Action,
    attributes: raw.Actor?.Attributes ?? {},
    time: new Date(Math.floor((typeof raw.timeNano === "number" ? raw.timeNano : 0) / 1e6)),
  };
}

/** `docker [--host ADDRESS] events ARGS…`, event by event, until `signal` aborts. */
export async function* engineEvents(
  address: string | null,
  args: readonly string[],
  signal: AbortSignal,
): AsyncIterable<EngineEvent> {
  const host = address === null ? [] : ["--host", address];
  const child = spawn("docker", [...host, "events", ...args, "--format", "{{json .}}"], {
    stdio: ["ignore", "pipe", "ignore"],
    signal,
  });
  child.on("error", () => {}); // an abort kills it; the loop below ends with its stdout
  for await (const line of createInterface({ input: child.stdout })) {
    const event = readEngineEvent(line);
    if (event !== null) yield event;
  }
}
