// Where every decision of every bottle meets the pages watching them: numbers each event,
// keeps the latest ones for a page that (re)connects, counts routed model traffic per
// bottle and route, and hands each event to every subscriber as it comes.
import type { DecisionEvent, ParsedDecision } from "./decision-events.js";

export type Subscriber = (event: DecisionEvent) => void;

export class DecisionHub {
  private readonly recent: DecisionEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  /** slug → route host → requests. */
  private readonly traffic = new Map<string, Map<string, number>>();
  private seq = 0;

  constructor(private readonly keep = 20_000) {}

  publish(parsed: ParsedDecision): DecisionEvent {
    this.seq += 1;
    const event: DecisionEvent = { seq: this.seq, ...parsed };
    this.recent.push(event);
    // Trim in batches: splicing one off the front per event costs O(n) each time.
    if (this.recent.length > this.keep * 1.25)
      this.recent.splice(0, this.recent.length - this.keep);
    if (event.routed && event.host !== null) {
      let routes = this.traffic.get(event.slug);
      if (routes === undefined) {
        routes = new Map();
        this.traffic.set(event.slug, routes);
      }
      routes.set(event.host, (routes.get(event.host) ?? 0) + 1);
    }
    for (const subscriber of this.subscribers) subscriber(event);
    return event;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** The kept events after `seq`, oldest first, and whether older ones were already dropped. */
  since(seq: number): { events: DecisionEvent[]; complete: boolean } {
    const first = this.recent[0]?.seq ?? this.seq + 1;
    const events = this.recent.filter((e) => e.seq > seq);
    return { events, complete: seq + 1 >= first || seq >= this.seq };
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Routed requests per route host for one bottle, since the dashboard started. */
  trafficOf(slug: string): Array<{ host: string; requests: number }> {
    return [...(this.traffic.get(slug) ?? new Map<string, number>()).entries()]
      .map(([host, requests]) => ({ host, requests }))
      .sort((a, b) => a.host.localeCompare(b.host));
  }
}
