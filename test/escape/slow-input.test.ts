// Slow input against pipelock: a client that sends a request's head a byte at a time, and
// never finishes it, must not hold a connection (and its memory) for ever. pipelock runs
// in this process against a loopback upstream, as the component tests run it, with its
// own server timeouts; the test waits out the head timeout (a minute, checked every 30 s),
// so it runs with the engine tests, one file at a time, not with the fast unit tests.
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import {
  rawExchange,
  startTestProxy,
  startUpstream,
  usePipelockTestScope,
} from "../support/sidecars/pipelock-proxy-fixture.js";

/** Node checks its head timeout every 30 s: a minute's timeout ends a head by 90 s. */
const HEAD_TIMEOUT_BY_MS = 100_000;

describe("pipelock against a slow client", () => {
  const scope = usePipelockTestScope();

  it("closes a connection whose request head never ends, and serves others meanwhile", {
    timeout: HEAD_TIMEOUT_BY_MS + 30_000,
  }, async () => {
    const upstream = await startUpstream(scope.cas, false);
    scope.closeAfter(() => upstream.close());
    const s = await startTestProxy(scope.cas, { allow: [`api.test:${upstream.port}`] });
    scope.closeAfter(() => s.proxy.close());
    const host = `api.test:${upstream.port}`;

    const slow = connect(s.proxy.address.port, "127.0.0.1");
    let answer = "";
    slow.on("data", (d: Buffer) => {
      answer += d.toString("latin1");
    });
    slow.on("error", () => {});
    const closed = new Promise<number>((resolve) => slow.on("close", () => resolve(Date.now())));
    const started = Date.now();
    slow.write(`GET http://${host}/slow HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `);
    // One more byte of the same header every two seconds: never a whole head.
    const drip = setInterval(() => {
      if (!slow.destroyed) slow.write("a");
    }, 2_000);
    try {
      // The control: while the slow head drips, another client is served.
      const other = await rawExchange(
        s.proxy.address.port,
        `GET http://${host}/meanwhile HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        // Read until pipelock closes: a loaded machine may take more than a moment to answer.
        10_000,
      );
      expect(other).toMatch(/^HTTP\/1\.1 200/);
      const deadline = new Promise<null>((resolve) =>
        setTimeout(() => resolve(null), HEAD_TIMEOUT_BY_MS).unref(),
      );
      const at = await Promise.race([closed, deadline]);
      expect(at, "pipelock still holds the connection of a head that never ends").not.toBeNull();
      expect((at ?? 0) - started).toBeGreaterThanOrEqual(50_000);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(drip);
      slow.destroy();
    }
    // The slow request never reached the upstream, not even its head.
    expect(upstream.seen.map((r) => r.url)).toEqual(["/meanwhile"]);
  });
});
