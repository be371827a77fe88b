// The Compose backend: a bottle is a Compose project on this machine's engine, its staged
// files bound from the state directory, found again by its labels.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { agentContainerName, BOTTLE_HOME_LABEL, BOTTLE_SLUG_LABEL } from "../../contracts/agent.js";
import type { AgentHandle, Backend, BottleEvent, RenderedFile } from "../backend.js";
import { discoverBottles, removeBottle } from "./discover-bottles.js";
import { checkEngine } from "./docker-client.js";
import { attachAgent, type LaunchContext, type StartPlan, upBottle } from "./launch-bottle.js";
import { renderBottleCompose, STATE_FILES } from "./prepare-bottle.js";

export class ComposeBackend implements Backend {
  readonly name = "compose";
  readonly summary = "a Docker Compose project on this machine's engine (the default)";

  constructor(private readonly ctx: LaunchContext) {}

  async preflight(): Promise<void> {
    await checkEngine(this.ctx.docker);
  }

  render(plan: StartPlan): RenderedFile[] {
    return [{ name: STATE_FILES.compose, text: renderBottleCompose(plan.blueprint) }];
  }

  up(plan: StartPlan, options: Parameters<Backend["up"]>[1] = {}) {
    return upBottle(plan, this.ctx, options);
  }

  async agent(bottle: { slug: string }): Promise<AgentHandle> {
    return { docker: this.ctx.docker, container: agentContainerName(bottle.slug) };
  }

  exec(bottle: { slug: string }, options: Parameters<Backend["exec"]>[1]): Promise<number> {
    return attachAgent(this.ctx, agentContainerName(bottle.slug), options);
  }

  list() {
    return discoverBottles(this.ctx.docker, this.ctx.home);
  }

  down(bottle: Parameters<Backend["down"]>[0]): Promise<void> {
    return removeBottle(this.ctx.docker, bottle);
  }

  async *events(signal: AbortSignal): AsyncIterable<BottleEvent> {
    const child = spawn(
      "docker",
      [
        "events",
        "--filter",
        "type=container",
        "--filter",
        `label=${BOTTLE_HOME_LABEL}=${this.ctx.home}`,
        "--format",
        "{{json .}}",
      ],
      { stdio: ["ignore", "pipe", "ignore"], signal },
    );
    child.on("error", () => {}); // an abort kills it; the loop below ends with its stdout
    for await (const line of createInterface({ input: child.stdout })) {
      const event = parseEngineEvent(line);
      if (event !== null) yield event;
    }
  }
}

interface EngineEvent {
  Action?: string;
  timeNano?: number;
  Actor?: { Attributes?: Record<string, string> };
}

/** One `docker events --format '{{json .}}'` line as a bottle event; null if not a bottle's. */
export function parseEngineEvent(line: string): BottleEvent | null {
  let raw: EngineEvent;
  try {
    raw = JSON.parse(line) as EngineEvent;
  } catch {
    return null;
  }
  const labels = raw.Actor?.Attributes ?? {};
  const slug = labels[BOTTLE_SLUG_LABEL];
  if (slug === undefined || typeof raw.Action !== "string") return null;
  return {
    slug,
    service: labels["com.docker.compose.service"] ?? "",
    action: raw.Action,
    time: new Date(Math.floor((raw.timeNano ?? 0) / 1e6)),
  };
}
