// The Compose backend: a bottle is a Compose project on this machine's engine, its staged
// files bound from the state directory, found again by its labels.
import { agentContainerName, BOTTLE_HOME_LABEL, BOTTLE_SLUG_LABEL } from "../../contracts/agent.js";
import { pipelockContainerName } from "../../contracts/pipelock.js";
import type {
  AgentHandle,
  Backend,
  BottleEvent,
  FoundBottle,
  OpenLog,
  PolicyChange,
  RemovalBounds,
  Rendering,
} from "../backend.js";
import { attachAgent } from "../engine/attach-agent.js";
import { dockerLogs } from "../engine/container-logs.js";
import { discoverBottles, removeBottle } from "../engine/discover-bottles.js";
import { checkEngine } from "../engine/docker-client.js";
import { bottleEventIn, bottleEvents, type EngineEvent } from "../engine/engine-events.js";
import { renderBottleCompose, STATE_FILES } from "../prepare-bottle.js";
import type { LaunchContext, StartPlan } from "../start-plan.js";
import { yamlRendering } from "../yaml-rendering.js";
import { upBottle } from "./compose-up.js";

export class ComposeBackend implements Backend {
  readonly name = "compose";
  readonly summary = "a Docker Compose project on this machine's engine (the default)";

  constructor(private readonly ctx: LaunchContext) {}

  async preflight(): Promise<void> {
    await checkEngine(this.ctx.docker);
  }

  async render(plan: StartPlan): Promise<Rendering> {
    return yamlRendering(plan, [
      { name: STATE_FILES.compose, text: renderBottleCompose(plan.blueprint) },
    ]);
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

  async sidecarLog(bottle: FoundBottle, service: "pipelock", lines: number): Promise<string> {
    if (!bottle.containers.some((c) => c.service === service)) return "";
    const logs = await this.ctx.docker.run(
      ["logs", "--tail", String(lines), pipelockContainerName(bottle.slug)],
      { allowFailure: true },
    );
    return logs.exitCode === 0 ? logs.stdout : "";
  }

  async putInForce(bottle: { slug: string }, change: PolicyChange): Promise<string[]> {
    // The gate reads its allowlist folder, a directory mount, on every push.
    if (change.kind === "gitleaks-allow") return [];
    // pipelock's policy is a single-file mount, rewritten in place: it reloads on SIGHUP.
    const container = pipelockContainerName(bottle.slug);
    const hup = await this.ctx.docker.run(["kill", "-s", "HUP", container], { allowFailure: true });
    if (hup.exitCode === 0) return [];
    const said = hup.stderr.trim().split("\n").pop() || "no error output";
    return [
      `could not signal ${container} to reload (${said}); it reloads when it sees the file change`,
    ];
  }

  readonly openLog: OpenLog = dockerLogs;

  down(bottle: Parameters<Backend["down"]>[0], bounds?: RemovalBounds): Promise<void> {
    return removeBottle(this.ctx.docker, bottle, bounds);
  }

  async *events(signal: AbortSignal): AsyncIterable<BottleEvent> {
    const filters = [
      "--filter",
      "type=container",
      "--filter",
      `label=${BOTTLE_HOME_LABEL}=${this.ctx.home}`,
    ];
    yield* bottleEvents(null, filters, signal, containerEvent);
  }
}

/** One `docker events` JSON line as a bottle's container event; null if not a bottle's. */
export function parseEngineEvent(line: string): BottleEvent | null {
  return bottleEventIn(line, containerEvent);
}

function containerEvent(e: EngineEvent): BottleEvent | null {
  const slug = e.attributes[BOTTLE_SLUG_LABEL];
  if (slug === undefined) return null;
  return {
    slug,
    service: e.attributes["com.docker.compose.service"] ?? "",
    action: e.action,
    time: e.time,
  };
}
