// Follows the decision logs of every running bottle: pipelock and egress write theirs on
// their container's stdout, git-gate its push verdicts on stderr, so each is read with `docker logs --follow`, split into whole
// lines (a line cut between two chunks is joined), parsed, and published to the hub. The
// bottles are looked up again every few seconds; a stream that ends (the bottle stopped,
// the container restarted) is picked up again from where it stopped.
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import {
  type DecisionSource,
  LineSplitter,
  type ParsedDecision,
  parseEgressLine,
  parseGitGateLine,
  parsePipelockLine,
} from "./decision-events.js";
import type { DecisionHub } from "./decision-hub.js";

export interface LogStream {
  stdout: Readable;
  stop(): void;
  /** Resolves when the stream has ended, for whatever reason. */
  ended: Promise<void>;
}

/** Where a sidecar writes its decisions: pipelock and egress on stdout, git-gate on stderr. */
export type LogChannel = "stdout" | "stderr";

/** Opens one channel of a container's log, from `since` (RFC 3339) or its last `tail` lines. */
export type OpenLog = (
  container: string,
  from: { since: string | null; tail: number; channel: LogChannel },
) => LogStream;

/** `docker logs --follow`, reading only the channel the decisions are written on. */
export const dockerLogs: OpenLog = (container, from) => {
  const args = ["logs", "--follow"];
  if (from.since !== null) args.push("--since", from.since);
  else args.push("--tail", String(from.tail));
  const stdio: ["ignore", "pipe" | "ignore", "pipe" | "ignore"] =
    from.channel === "stdout" ? ["ignore", "pipe", "ignore"] : ["ignore", "ignore", "pipe"];
  const child = spawn("docker", [...args, container], { stdio });
  const out = (from.channel === "stdout" ? child.stdout : child.stderr) as Readable;
  const ended = new Promise<void>((resolve) => {
    child.on("close", () => resolve());
    child.on("error", () => resolve());
  });
  return { stdout: out, stop: () => child.kill("SIGTERM"), ended };
};

export interface FollowedContainer {
  slug: string;
  source: DecisionSource;
  container: string;
}

const PARSERS: Record<DecisionSource, (line: string, slug: string) => ParsedDecision | null> = {
  pipelock: parsePipelockLine,
  egress: parseEgressLine,
  "git-gate": parseGitGateLine,
};

/** Keeps one log stream open per container it is given. */
export class LogFollower {
  private readonly open = new Map<string, LogStream>();
  /** When each container's stream last ended, to pick up from there. */
  private readonly endedAt = new Map<string, string>();
  private stopped = false;

  constructor(
    private readonly hub: DecisionHub,
    private readonly openLog: OpenLog = dockerLogs,
    private readonly options: { tail: number; now: () => Date } = {
      tail: 500,
      now: () => new Date(),
    },
  ) {}

  /** Follows these containers; streams of containers no longer listed are closed. */
  follow(containers: readonly FollowedContainer[]): void {
    if (this.stopped) return;
    const wanted = new Set(containers.map((c) => c.container));
    for (const [name, stream] of this.open) {
      if (!wanted.has(name)) {
        stream.stop();
        this.open.delete(name);
      }
    }
    for (const c of containers) {
      if (!this.open.has(c.container)) this.start(c);
    }
  }

  private start(c: FollowedContainer): void {
    const since = this.endedAt.get(c.container) ?? null;
    const channel: LogChannel = c.source === "git-gate" ? "stderr" : "stdout";
    const stream = this.openLog(c.container, { since, tail: this.options.tail, channel });
    this.open.set(c.container, stream);
    const lines = new LineSplitter();
    const parse = PARSERS[c.source];
    stream.stdout.setEncoding("utf8");
    stream.stdout.on("data", (chunk: string) => {
      for (const line of lines.push(chunk)) {
        const parsed = parse(line, c.slug);
        if (parsed !== null) this.hub.publish(parsed);
      }
    });
    void stream.ended.then(() => {
      if (this.open.get(c.container) === stream) this.open.delete(c.container);
      this.endedAt.set(c.container, this.options.now().toISOString());
    });
  }

  stop(): void {
    this.stopped = true;
    for (const stream of this.open.values()) stream.stop();
    this.open.clear();
  }
}
