// The seam between what a bottle is (its plan, src/core) and the engine that runs it. Every
// command that touches bottles goes through a Backend, so a bottle can run on another engine
// with the same guarantees: Compose on this machine today; the shape leaves room for one
// whose nodes do not share the host's disk (files reach services as content, see
// core/bottle-mounts.ts).

import type { Readable } from "node:stream";
import type { BottleMetadata } from "./bottle-state.js";
import type { StopBudget } from "./end-bottle.js";
import type { DockerClient } from "./engine/docker-client.js";
import type { Workspace } from "./engine/workspace.js";
import type { KeptWork } from "./kept-work.js";
import type { PreparedBottle } from "./prepare-bottle.js";
import type { StartPlan } from "./start-plan.js";

/** A container of a bottle, as the engine reports it. */
export interface BottleContainer {
  name: string;
  service: string;
  /** Docker's state word: running, exited, created, … */
  state: string;
  status: string;
}

/** A bottle of this home, running or left behind. */
export interface FoundBottle {
  slug: string;
  project: string;
  containers: BottleContainer[];
  networks: string[];
  stateDir: string | null;
  metadata: BottleMetadata | null;
  /** Its CLI process is still running on this host. */
  attached: boolean;
}

/** How long a removal may take: gracefully, then forced. */
export interface RemovalBounds {
  gracefulMs: number;
  forcedMs: number;
}

/** A file an engine would deploy, by its name in the bottle's state directory. */
export interface RenderedFile {
  name: string;
  text: string;
  /** Its mode where `render` writes it (default 0644); 0600 and 0700 keep its folder 0700. */
  mode?: number;
  /** Said beside its name where `render` writes it (what it holds, what to do with it). */
  note?: string;
}

/** What an engine would deploy for a plan, as `render` puts it out. */
export interface Rendering {
  files: RenderedFile[];
  /** The same as one JSON document (`render --json`), made only when asked for. */
  json(): unknown;
  /** Where `render` writes the files without --out (from the cwd); without it, to stdout. */
  defaultDir?: string;
  /** Lines for the person once the files are in `dir`, or printed (null). */
  notes(dir: string | null): string[];
}

/**
 * What every engine does: say what it would deploy. An engine that runs bottles here is a
 * Backend too; one that only renders (Kubernetes: a cluster this tool does not drive) is a
 * Renderer alone, and the registry (backends.ts) knows which by what it holds.
 */
export interface Renderer {
  readonly name: string;
  /** One line for `--help` and `doctor`. */
  readonly summary: string;
  /** What a bottle of `plan` would deploy; nothing is started and no secret value is read. */
  render(plan: StartPlan, now: Date): Promise<Rendering>;
}

export interface UpOptions {
  signal?: AbortSignal;
  /** Keep the state directory when the start fails (`start --keep-state`). */
  keepStateOnFailure?: boolean;
  /** Told when a failed start could not remove all it started (the start's error is thrown). */
  onRemovalError?: (error: unknown) => void;
}

/** A sidecar's log as it is read: its lines, until stopped or ended. */
export interface LogStream {
  stdout: Readable;
  stop(): void;
  /** Resolves when the stream has ended, for whatever reason. */
  ended: Promise<void>;
}

/** Where a sidecar writes its decisions: pipelock and egress on stdout, git-gate on stderr. */
export type LogChannel = "stdout" | "stderr";

export interface LogRange {
  /** From this time (RFC 3339) on, or else the last `tail` lines ("all": from the start). */
  since: string | null;
  tail: number | "all";
  channel: LogChannel;
  /** Up to this time, and then the stream ends; else it is followed. */
  until?: string;
}

/** Opens one channel of a container's log over `from`. */
export type OpenLog = (container: string, from: LogRange) => LogStream;

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

/** A policy file of a bottle that an approval changed, to put in force where its sidecars run. */
export interface PolicyChange {
  /** pipelock's policy (reloaded on SIGHUP), or the git gate's allowlist (read on every push). */
  kind: "pipelock-policy" | "gitleaks-allow";
  /** The file in the bottle's state directory (the gate's is in the folder the gate mounts). */
  path: string;
}

/** An engine that runs bottles: starts, finds, watches and removes them. */
export interface Backend extends Renderer {
  /** Throws a BottleError naming the fix when the engine cannot run bottles. */
  preflight(): Promise<void>;
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
  /**
   * Puts `change` in force where the bottle's sidecars run; the lines say what is not (yet),
   * and are empty when all is.
   */
  putInForce(bottle: { slug: string; stateDir: string }, change: PolicyChange): Promise<string[]>;
  /**
   * Opens one channel of a sidecar's log over `from`, on whichever node it runs (the
   * dashboard's decisions). `container` is a name `list` reports.
   */
  openLog(container: string, from: LogRange): LogStream;
  /** The engine's reports on this home's bottles, until `signal` aborts. */
  events(signal: AbortSignal): AsyncIterable<BottleEvent>;
}

export interface RunOptions {
  /** A command to run instead of the agent program (`sh -lc`), for scripts. */
  exec: string | null;
  keepState: boolean;
  /** Attach a TTY to the agent program. */
  tty: boolean;
  /** Aborted on SIGTERM/SIGHUP: stops the agent program, then the bottle is torn down. */
  signal?: AbortSignal;
  /** A repository copied into the agent's ~/work, whose changes are kept at the end. */
  workspace?: Workspace | null;
  /** Told where the work was kept, also when the run ends in an error. */
  onKept?: (kept: KeptWork) => void;
  /** Bring the bottle up and return without attaching: `start --detach`. */
  detach?: boolean;
  /**
   * Asked once the program has ended: true leaves the bottle running for `resume` (the
   * terminal went away and the user asked for that with `--keep`).
   */
  leaveRunning?: () => boolean;
  /** The bound of the end: keeping the work, then removal (default: stopBudgetOf(env)). */
  budget?: StopBudget;
}

/** A bottle that is up and provisioned; `down` removes it (and its state, unless kept). */
export interface StartedBottle {
  prepared: PreparedBottle;
  slug: string;
  project: string;
  /** Removes it within `bounds`; throws a BottleError naming whatever is left. */
  down(options?: { keepState?: boolean; bounds?: RemovalBounds }): Promise<void>;
}
