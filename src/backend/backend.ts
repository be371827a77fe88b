// The seam between what a bottle is (its plan, src/core) and the engine that runs it. Every
// command that touches bottles goes through a Backend, so a bottle can run on another engine
// with the same guarantees: Compose on this machine today; the shape leaves room for one
// whose nodes do not share the host's disk (files reach services as content, see
// core/bottle-mounts.ts).
import type { FoundBottle, RemovalBounds } from "./docker/discover-bottles.js";
import type { DockerClient } from "./docker/docker-client.js";
import type { RunOptions, StartedBottle, StartPlan } from "./docker/launch-bottle.js";

/** A file a backend would deploy, by its name in the bottle's state directory. */
export interface RenderedFile {
  name: string;
  text: string;
}

export interface UpOptions {
  signal?: AbortSignal;
  /** Keep the state directory when the start fails (`start --keep-state`). */
  keepStateOnFailure?: boolean;
  /** Told when a failed start could not remove all it started (the start's error is thrown). */
  onRemovalError?: (error: unknown) => void;
}

/** One change in a bottle's life as the engine reports it. */
export interface BottleEvent {
  slug: string;
  /** The service it concerns: agent, pipelock, egress, git-gate, supervise. */
  service: string;
  /** The engine's word: start, die, health_status: healthy, destroy, … */
  action: string;
  time: Date;
}

/** Where the agent of a running bottle is: the engine that runs it, and its container there. */
export interface AgentHandle {
  docker: DockerClient;
  container: string;
}

export interface Backend {
  readonly name: string;
  /** One line for `--help` and `doctor`. */
  readonly summary: string;
  /** Throws a BottleError naming the fix when the engine cannot run bottles. */
  preflight(): Promise<void>;
  /** What `up` would deploy, as files; nothing is read, written or started. */
  render(plan: StartPlan): RenderedFile[];
  /** Stages, builds, deploys and provisions; on any failure removes all it started. */
  up(plan: StartPlan, options?: UpOptions): Promise<StartedBottle>;
  /** The running agent's engine and container (to copy work in and out). */
  agent(bottle: { slug: string }): Promise<AgentHandle>;
  /** Runs the agent program (or `options.exec`) in the bottle's agent; its exit code. */
  exec(
    bottle: { slug: string },
    options: Pick<RunOptions, "exec" | "tty" | "signal">,
  ): Promise<number>;
  /** This home's bottles, running or left behind. */
  list(): Promise<FoundBottle[]>;
  /**
   * The last `lines` lines a sidecar of `bottle` wrote to stdout (pipelock's audit log), on
   * whichever node it runs; "" when it is gone or its engine does not answer.
   */
  sidecarLog(bottle: FoundBottle, service: "pipelock", lines: number): Promise<string>;
  /**
   * Removes all of one bottle (services, networks, state) within `bounds`: graceful, then
   * forced. Throws a BottleError naming whatever still carries the bottle's label after it.
   */
  down(
    bottle: Pick<FoundBottle, "slug" | "project" | "stateDir">,
    bounds?: RemovalBounds,
  ): Promise<void>;
  /** The engine's reports on this home's bottles, until `signal` aborts. */
  events(signal: AbortSignal): AsyncIterable<BottleEvent>;
}
