// Where every decision of every bottle meets the pages watching them: numbers each event,
// keeps the latest ones for a page that (re)connects, counts routed model traffic per
// bottle and route (requests and body bytes each way), and hands each event to every
// subscriber as it comes.
import type { DecisionEvent, ParsedDecision } from "./decision-events.js";

export type Subscriber = (event: DecisionEvent) => void;

/** The model traffic of one bottle through one route host, as egress's lines tell it. */
export interface RouteTraffic {
  host: string;
  requests: number;
  /** Request body bytes sent upstream. */
  requestBytes: number;
  /** Response body bytes the upstream sent. */
  responseBytes: number;
}

/** One bottle's rate-limit refusals for one host (or wildcard), as pipelock's lines tell it. */
export interface RateRefusals {
  host: string;
  bursts: number;
  refusals: number;
}

export class DecisionHub {
  private readonly recent: DecisionEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  /** slug → route host → its traffic. */
  private readonly traffic = new Map<string, Map<string, RouteTraffic>>();
  /** slug → host or wildcard → its rate-limit totals (each line carries them so far). */
  private readonly rates = new Map<string, Map<string, RateRefusals>>();
  private seq = 0;

  constructor(private readonly keep = 20_000) {}

  /**
   * Numbers an event, keeps it and hands it on. Its traffic is counted too, unless it was
   * already (`counted`: a line read back from a log's history, counted as it was read).
   */
  publish(parsed: ParsedDecision, options: { counted?: boolean } = {}): DecisionEvent {
    this.seq += 1;
    const event: DecisionEvent = { seq: this.seq, ...parsed };
    this.recent.push(event);
    // Trim in batches: splicing one off the front per event costs O(n) each time.
    if (this.recent.length > this.keep * 1.25)
      this.recent.splice(0, this.recent.length - this.keep);
    if (options.counted !== true) this.countTraffic(parsed);
    for (const subscriber of this.subscribers) subscriber(event);
    return event;
  }

  /** Adds a routed call to its bottle's and route's traffic; anything else is passed over. */
  countTraffic(parsed: ParsedDecision): void {
    if (parsed.rate !== undefined) {
      let hosts = this.rates.get(parsed.slug);
      if (hosts === undefined) {
        hosts = new Map();
        this.rates.set(parsed.slug, hosts);
      }
      const before = hosts.get(parsed.rate.key);
      // Totals only grow: a line read out of order never takes them back.
      hosts.set(parsed.rate.key, {
        host: parsed.rate.key,
        bursts: Math.max(before?.bursts ?? 0, parsed.rate.bursts),
        refusals: Math.max(before?.refusals ?? 0, parsed.rate.refusals),
      });
    }
    if (!parsed.routed || parsed.host === null) return;
    let routes = this.traffic.get(parsed.slug);
    if (routes === undefined) {
      routes = new Map();
      this.traffic.set(parsed.slug, routes);
    }
    let route = routes.get(parsed.host);
    if (route === undefined) {
      route = { host: parsed.host, requests: 0, requestBytes: 0, responseBytes: 0 };
      routes.set(parsed.host, route);
    }
    route.requests += 1;
    route.requestBytes += parsed.requestBytes ?? 0;
    route.responseBytes += parsed.responseBytes ?? 0;
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

  /** One bottle's rate-limit refusals and bursts per host, from pipelock's lines. */
  rateRefusalsOf(slug: string): RateRefusals[] {
    return [...(this.rates.get(slug)?.values() ?? [])]
      .map((r) => ({ ...r }))
      .sort((a, b) => a.host.localeCompare(b.host));
  }

  /** One bottle's traffic per route host, from every egress line read of it. */
  trafficOf(slug: string): RouteTraffic[] {
    return [...(this.traffic.get(slug)?.values() ?? [])]
      .map((t) => ({ ...t }))
      .sort((a, b) => a.host.localeCompare(b.host));
  }
}
