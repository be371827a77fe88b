import { describe, expect, it } from "vitest";
import { healthOf, routeTokenNames } from "./dashboard-views.js";
import { type ParsedDecision, parsePipelockLine } from "./decision-events.js";
import { DecisionHub } from "./decision-hub.js";

const event = (over: Partial<ParsedDecision> = {}): ParsedDecision => ({
  slug: "a-0001",
  source: "egress",
  at: "2030-01-01T00:00:00.000Z",
  kind: "allow",
  verdict: "intercept",
  method: "POST",
  host: "api.anthropic.com",
  port: null,
  path: null,
  rule: "route",
  place: null,
  status: 200,
  routed: true,
  requestBytes: 100,
  responseBytes: 2000,
  ...over,
});

const traffic = (host: string, requests: number, requestBytes: number, responseBytes: number) => ({
  host,
  requests,
  requestBytes,
  responseBytes,
});

describe("DecisionHub", () => {
  it("keeps each bottle's latest rate-limit totals per host, from pipelock's lines as parsed", () => {
    const hub = new DecisionHub();
    const line = (key: string, bursts: number, refusals: number) =>
      parsePipelockLine(
        JSON.stringify({
          ts: "2030-01-01T00:00:00.000Z",
          method: "GET",
          host: "x",
          decision: "denied",
          rule: "rate-limit",
          status: 429,
          rate: { key, bursts, refusals },
        }),
        "a-0001",
      ) as ParsedDecision;
    hub.publish(line("api.test", 1, 1));
    hub.publish(line("api.test", 1, 5));
    hub.publish(line("*.cdn.test", 1, 2));
    hub.publish(line("api.test", 1, 4), { counted: true });
    expect(hub.rateRefusalsOf("a-0001")).toEqual([
      { host: "*.cdn.test", bursts: 1, refusals: 2 },
      { host: "api.test", bursts: 1, refusals: 5 },
    ]);
    expect(hub.rateRefusalsOf("b-0002")).toEqual([]);
  });

  it("numbers events, hands them to subscribers and counts routed traffic per route", () => {
    const hub = new DecisionHub();
    const seen: number[] = [];
    const stop = hub.subscribe((e) => seen.push(e.seq));
    hub.publish(event());
    hub.publish(event({ slug: "b-0002" }));
    hub.publish(event({ routed: false, host: null, kind: "refuse", verdict: "refused" }));
    stop();
    hub.publish(event({ requestBytes: 5, responseBytes: 7 }));
    expect(seen).toEqual([1, 2, 3]);
    expect(hub.trafficOf("a-0001")).toEqual([traffic("api.anthropic.com", 2, 105, 2007)]);
    expect(hub.trafficOf("b-0002")).toEqual([traffic("api.anthropic.com", 1, 100, 2000)]);
    expect(hub.trafficOf("c-0003")).toEqual([]);
  });

  it("adds up each route of a bottle apart; a line without byte counts adds a request only", () => {
    const hub = new DecisionHub();
    hub.publish(event({ host: "api.openai.com" }));
    hub.publish(event({ requestBytes: null, responseBytes: null }));
    hub.publish(event({ routed: false, verdict: "intercept" }));
    expect(hub.trafficOf("a-0001")).toEqual([
      traffic("api.anthropic.com", 1, 0, 0),
      traffic("api.openai.com", 1, 100, 2000),
    ]);
  });

  it("counts a line once: counted as read back, then published without counting again", () => {
    const hub = new DecisionHub();
    hub.countTraffic(event());
    hub.publish(event(), { counted: true });
    expect(hub.lastSeq).toBe(1);
    expect(hub.trafficOf("a-0001")).toEqual([traffic("api.anthropic.com", 1, 100, 2000)]);
  });

  it("replays what it kept after an id, and says when older ones were dropped", () => {
    const hub = new DecisionHub(4);
    for (let i = 0; i < 10; i++) hub.publish(event());
    const kept = hub.since(0);
    expect(kept.complete).toBe(false);
    expect(kept.events.map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    expect(hub.since(6)).toEqual({ events: kept.events, complete: true });
    expect(hub.since(5).complete).toBe(false);
    expect(hub.since(10)).toEqual({ events: [], complete: true });
  });
});

describe("the bottle view's helpers", () => {
  it("reads health from docker's status", () => {
    expect(healthOf("Up 5 minutes (healthy)")).toBe("healthy");
    expect(healthOf("Up 1 second (health: starting)")).toBe("starting");
    expect(healthOf("Up 2 hours (unhealthy)")).toBe("unhealthy");
    expect(healthOf("Up 2 hours")).toBeNull();
  });

  it("takes a route's token env name, never anything else of the file", () => {
    const yaml =
      "routes:\n  - host: api.anthropic.com\n    auth: { scheme: x-api-key, tokenEnv: EGRESS_TOKEN_0 }\n";
    expect(routeTokenNames(yaml)).toEqual([
      { host: "api.anthropic.com", tokenEnv: "EGRESS_TOKEN_0" },
    ]);
    expect(routeTokenNames("{ unclosed")).toEqual([]);
    expect(routeTokenNames(null)).toEqual([]);
  });
});
