import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { LogRange, LogStream } from "../backend/backend.js";
import { DecisionHub } from "./decision-hub.js";
import { LogFollower } from "./log-follower.js";

/** A container log stand-in: each open is recorded, and written to and ended by the test. */
class FakeLogs {
  readonly opened: Array<{ container: string; from: LogRange; out: PassThrough; end(): void }> = [];

  readonly open = (container: string, from: LogRange): LogStream => {
    const out = new PassThrough();
    let end = () => {};
    const ended = new Promise<void>((resolve) => {
      end = () => {
        out.end();
        out.on("end", () => resolve());
        out.resume();
      };
    });
    // Ends after the lines written so far have been read, as `docker logs` exits.
    const entry = {
      container,
      from,
      out,
      end: () => {
        setImmediate(end);
      },
    };
    this.opened.push(entry);
    return { stdout: out, stop: () => entry.end(), ended };
  };
}

const T0 = new Date("2030-01-01T12:00:00.000Z");

const egressLine = (host: string, requestBytes: number, responseBytes: number) =>
  `${JSON.stringify({
    time: "2030-01-01T11:00:00.000Z",
    event: "request",
    kind: "intercept",
    routed: true,
    host,
    method: "POST",
    path: null,
    status: 200,
    requestBytes,
    responseBytes,
  })}\n`;

const tick = () => new Promise((r) => setImmediate(r));

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await tick();
  expect(condition()).toBe(true);
}

const EGRESS = { slug: "a-0001", source: "egress" as const, container: "claude-bottle-egress-a" };

describe("LogFollower on egress", () => {
  it("counts the whole log's traffic, shows its latest decisions, then follows from then on", async () => {
    const logs = new FakeLogs();
    const hub = new DecisionHub();
    const follower = new LogFollower(hub, logs.open, { tail: 2, now: () => T0 });
    follower.follow([EGRESS]);
    const history = logs.opened[0];
    expect(history?.from).toEqual({
      since: null,
      tail: "all",
      channel: "stdout",
      until: T0.toISOString(),
    });
    for (let i = 0; i < 5; i++) history?.out.write(egressLine("api.anthropic.com", 10, 1000));
    // A line cut between two chunks still counts once.
    const cut = egressLine("api.openai.com", 3, 4);
    history?.out.write(cut.slice(0, 20));
    history?.out.write(cut.slice(20));
    history?.end();
    await until(() => logs.opened.length === 2);
    expect(hub.trafficOf("a-0001")).toEqual([
      { host: "api.anthropic.com", requests: 5, requestBytes: 50, responseBytes: 5000 },
      { host: "api.openai.com", requests: 1, requestBytes: 3, responseBytes: 4 },
    ]);
    // Only the latest `tail` decisions are shown again.
    expect(hub.lastSeq).toBe(2);
    expect(hub.since(0).events.map((e) => e.host)).toEqual(["api.anthropic.com", "api.openai.com"]);
    const live = logs.opened[1];
    expect(live?.from).toEqual({ since: T0.toISOString(), tail: 2, channel: "stdout" });
    live?.out.write(egressLine("api.openai.com", 1, 1));
    await until(() => hub.lastSeq === 3);
    expect(hub.trafficOf("a-0001")[1]).toEqual({
      host: "api.openai.com",
      requests: 2,
      requestBytes: 4,
      responseBytes: 5,
    });
    follower.stop();
  });

  it("gives the same counts to a dashboard started again over the same log", async () => {
    const counts = [];
    for (let run = 0; run < 2; run++) {
      const logs = new FakeLogs();
      const hub = new DecisionHub();
      const follower = new LogFollower(hub, logs.open, { tail: 500, now: () => T0 });
      follower.follow([EGRESS]);
      logs.opened[0]?.out.write(egressLine("api.anthropic.com", 7, 9).repeat(3));
      logs.opened[0]?.end();
      await until(() => logs.opened.length === 2);
      counts.push(hub.trafficOf("a-0001"));
      follower.stop();
    }
    expect(counts[0]).toEqual([
      { host: "api.anthropic.com", requests: 3, requestBytes: 21, responseBytes: 27 },
    ]);
    expect(counts[1]).toEqual(counts[0]);
  });

  it("reads the history again when a container is dropped before it was read", async () => {
    const logs = new FakeLogs();
    const hub = new DecisionHub();
    const follower = new LogFollower(hub, logs.open, { tail: 500, now: () => T0 });
    follower.follow([EGRESS]);
    follower.follow([]);
    await tick();
    await tick();
    follower.follow([EGRESS]);
    expect(logs.opened.map((o) => o.from.until)).toEqual([T0.toISOString(), T0.toISOString()]);
    follower.stop();
  });

  it("follows pipelock from its last lines, as before", () => {
    const logs = new FakeLogs();
    const follower = new LogFollower(new DecisionHub(), logs.open, { tail: 500, now: () => T0 });
    follower.follow([{ slug: "a-0001", source: "pipelock", container: "p" }]);
    expect(logs.opened[0]?.from).toEqual({ since: null, tail: 500, channel: "stdout" });
    follower.stop();
  });
});
