// What the engine reports (`docker events --format '{{json .}}'`), read one line at a time.
// Each backend says which of these are its bottles' and what they concern.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { BottleEvent } from "../backend.js";

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

/** How a backend reads an engine event as one of its bottles' (null: not a bottle's). */
export type BottleEventOf = (event: EngineEvent) => BottleEvent | null;

/** The bottle events among `docker events ARGS…`, as `bottleEventOf` reads them. */
export async function* bottleEvents(
  address: string | null,
  args: readonly string[],
  signal: AbortSignal,
  bottleEventOf: BottleEventOf,
): AsyncIterable<BottleEvent> {
  for await (const e of engineEvents(address, args, signal)) {
    const event = bottleEventOf(e);
    if (event !== null) yield event;
  }
}

/** One `docker events` JSON line as `bottleEventOf` reads it; null if it is not a bottle's. */
export function bottleEventIn(line: string, bottleEventOf: BottleEventOf): BottleEvent | null {
  const e = readEngineEvent(line);
  return e === null ? null : bottleEventOf(e);
}
