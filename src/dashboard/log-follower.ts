// Follows the decision logs of every running bottle: pipelock and egress write theirs on
// their container's stdout, git-gate its push verdicts on stderr, so each is read with
// `docker logs --follow`, split into whole lines (a line cut between two chunks is joined),
// parsed, and published to the hub. egress's log is first read whole, up to the moment the
// dashboard found it, to count each route's traffic since the bottle started (so the counts
// survive a restart of the dashboard); only its latest decisions are shown again, and it is
// followed from that moment on. The bottles are looked up again every few seconds; a stream
// that ends (the bottle stopped, the container restarted) is picked up again from where it
// stopped.
import type { LogChannel, LogStream, OpenLog } from "../backend/backend.js";
import { LineSplitter } from "../shared/line-splitter.js";
import {
  type DecisionSource,
  type ParsedDecision,
  parseEgressLine,
  parseGitGateLine,
  parsePipelockLine,
} from "./decision-events.js";
import type { DecisionHub } from "./decision-hub.js";

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
    /** The bottle's backend's: where a sidecar logs is the engine's to know. */
    private readonly openLog: OpenLog,
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
    if (since === null && c.source === "egress") {
      this.readHistory(c);
      return;
    }
    const channel: LogChannel = c.source === "git-gate" ? "stderr" : "stdout";
    const stream = this.openLog(c.container, { since, tail: this.options.tail, channel });
    this.open.set(c.container, stream);
    this.readLines(stream, c, (parsed) => this.hub.publish(parsed));
    void stream.ended.then(() => {
      if (this.open.get(c.container) === stream) this.open.delete(c.container);
      this.endedAt.set(c.container, this.options.now().toISOString());
    });
  }

  /**
   * egress's whole log up to now: every routed call counted, the latest decisions published
   * (as many as `tail` lines would hold at most), then the log followed from now on.
   */
  private readHistory(c: FollowedContainer): void {
    const until = this.options.now().toISOString();
    const stream = this.openLog(c.container, {
      since: null,
      tail: "all",
      channel: "stdout",
      until,
    });
    this.open.set(c.container, stream);
    const latest: ParsedDecision[] = [];
    this.readLines(stream, c, (parsed) => {
      this.hub.countTraffic(parsed);
      latest.push(parsed);
      if (latest.length > this.options.tail * 2)
        latest.splice(0, latest.length - this.options.tail);
    });
    void stream.ended.then(() => {
      // Stopped, or no longer followed: whoever follows it next reads the history again.
      if (this.open.get(c.container) !== stream) return;
      this.open.delete(c.container);
      for (const parsed of latest.slice(-this.options.tail)) {
        this.hub.publish(parsed, { counted: true });
      }
      this.endedAt.set(c.container, until);
      if (!this.stopped) this.start(c);
    });
  }

  private readLines(
    stream: LogStream,
    c: FollowedContainer,
    take: (parsed: ParsedDecision) => void,
  ): void {
    const lines = new LineSplitter();
    const parse = PARSERS[c.source];
    stream.stdout.setEncoding("utf8");
    stream.stdout.on("data", (chunk: string) => {
      for (const line of lines.push(chunk)) {
        const parsed = parse(line, c.slug);
        if (parsed !== null) take(parsed);
      }
    });
  }

  stop(): void {
    this.stopped = true;
    for (const stream of this.open.values()) stream.stop();
    this.open.clear();
  }
}
