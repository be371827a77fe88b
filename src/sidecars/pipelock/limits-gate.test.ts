// The name budget and the rate limit through a real pipelock server on loopback, with a
// lookup that records every name pipelock asks it: a refused name must never be among them.
import type { LookupFunction } from "node:net";
import { describe, expect, it } from "vitest";
import {
  auditSink,
  rawExchange,
  startUpstream,
  testLookup,
  tlsTunnel,
  usePipelockTestScope,
} from "../../../test/support/sidecars/pipelock-proxy-fixture.js";
import { loadCa } from "../../shared/ca/index.js";
import { createAuditLog } from "./audit-log.js";
import { type PipelockConfigInput, PipelockConfigSchema } from "./config.js";
import { buildPolicy } from "./policy.js";
import { startProxyServer } from "./proxy-server.js";

const scope = usePipelockTestScope();

async function scenario(
  config: Partial<PipelockConfigInput> | ((port: number) => Partial<PipelockConfigInput>),
) {
  const upstream = await startUpstream(scope.cas, false);
  scope.closeAfter(() => upstream.close());
  const asked: string[] = [];
  const lookup: LookupFunction = (hostname, options, callback) => {
    asked.push(hostname);
    testLookup(hostname, options, callback);
  };
  let ms = 0;
  const audit = auditSink();
  const proxy = await startProxyServer({
    policy: buildPolicy(
      PipelockConfigSchema.parse({
        privateUpstreams: "allow",
        allow: [`*.wild.test:${upstream.port}`, `plain.test:${upstream.port}`],
        ...(typeof config === "function" ? config(upstream.port) : config),
      }),
      {},
    ),
    ca: await loadCa(scope.cas.bottle),
    audit: createAuditLog({ stream: audit.stream }),
    lookup,
    monotonicNow: () => ms,
  });
  scope.closeAfter(() => proxy.close());
  const get = async (host: string, path = "/") => {
    const response = await rawExchange(
      proxy.address.port,
      `GET http://${host}:${upstream.port}${path} HTTP/1.1\r\nHost: ${host}:${upstream.port}\r\nConnection: close\r\n\r\n`,
    );
    return { status: Number(response.split(" ")[1]), response };
  };
  return {
    upstream,
    proxy,
    asked,
    audit,
    get,
    advance: (seconds: number) => {
      ms += seconds * 1000;
    },
  };
}

describe("pipelock: distinct names under a wildcard", () => {
  it("refuses a new name past the budget before any lookup, naming the wildcard and budget", async () => {
    const s = await scenario({ wildcardNames: 3, supervise: { enabled: true } });
    for (const word of ["apple", "banana", "cherry"]) {
      expect((await s.get(`${word}.wild.test`)).status).toBe(200);
    }
    const refused = await s.get("damson.wild.test");
    expect(refused.status).toBe(403);
    expect(refused.response).toContain(
      `would be a new name under "*.wild.test:${s.upstream.port}"`,
    );
    expect(refused.response).toContain("its budget of 3 distinct names");
    expect(refused.response).toContain("request_egress_host");
    expect(s.asked).not.toContain("damson.wild.test");
    expect(s.upstream.seen.map((r) => r.headers.host)).not.toContain(
      `damson.wild.test:${s.upstream.port}`,
    );
    // Names used before still work; an exact host is outside every budget.
    expect((await s.get("banana.wild.test")).status).toBe(200);
    expect((await s.get("plain.test")).status).toBe(200);
    const line = s.audit.events.find((e) => e.rule === "wildcard-name-budget");
    expect(line).toMatchObject({
      decision: "denied",
      host: "damson.wild.test",
      status: 403,
      names: { pattern: `*.wild.test:${s.upstream.port}`, used: 3, budget: 3 },
    });
  });

  it("refuses a CONNECT to a new name past the budget, with no certificate and no lookup", async () => {
    const s = await scenario({ wildcardNames: 1 });
    const port = s.proxy.address.port;
    const tls = await tlsTunnel(port, `one.wild.test:${s.upstream.port}`, {
      ca: scope.cas.bottle.certPem,
    });
    tls.destroy();
    const answer = await rawExchange(
      port,
      `CONNECT two.wild.test:${s.upstream.port} HTTP/1.1\r\nHost: two.wild.test\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 403/);
    expect(answer).toContain("its budget of 1 distinct names");
    expect(s.proxy.mintedHosts()).not.toContain("two.wild.test");
    expect(s.asked).not.toContain("two.wild.test");
  });

  it("never counts a name the label bounds refuse", async () => {
    const s = await scenario({ wildcardNames: 1 });
    expect((await s.get("q3x7kd2mzr8vw4jf6tnb.wild.test")).status).toBe(403);
    expect((await s.get("apple.wild.test")).status).toBe(200);
    expect(s.asked).toEqual([`apple.wild.test`]);
  });
});

describe("pipelock: request rate per host", () => {
  it("answers 429 with Retry-After past the burst, and the upstream sees at most rate × time + burst", async () => {
    const s = await scenario({ rateLimit: { perSecond: 2, burst: 4 } });
    const statuses: number[] = [];
    let refusal = "";
    for (let i = 0; i < 10; i++) {
      const r = await s.get("plain.test", `/word${i}`);
      statuses.push(r.status);
      if (r.status === 429) refusal = r.response;
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
    expect(refusal).toMatch(/retry-after: 1\r\n/i);
    expect(refusal).toContain("rate limit of 2 per second (bursts of up to 4)");
    s.advance(1);
    for (let i = 0; i < 4; i++) statuses.push((await s.get("plain.test", `/again${i}`)).status);
    expect(statuses.slice(10)).toEqual([200, 200, 429, 429]);
    expect(s.upstream.seen).toHaveLength(4 + 2);
    const last = s.audit.events.filter((e) => e.rule === "rate-limit").at(-1);
    expect(last).toMatchObject({
      status: 429,
      host: "plain.test",
      rate: { key: "plain.test", bursts: 2, refusals: 8 },
    });
  });

  it("refuses a WebSocket upgrade past the rate on its socket, and one under a spent name budget", async () => {
    const s = await scenario({ rateLimit: { perSecond: 1, burst: 1 }, wildcardNames: 1 });
    const upgrade = (host: string) =>
      rawExchange(
        s.proxy.address.port,
        `GET http://${host}:${s.upstream.port}/ws HTTP/1.1\r\nHost: ${host}:${s.upstream.port}\r\n` +
          "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      );
    expect((await s.get("plain.test")).status).toBe(200);
    const limited = await upgrade("plain.test");
    expect(limited).toMatch(/^HTTP\/1\.1 429 Too Many Requests\r\n/);
    expect(limited).toMatch(/\r\nRetry-After: 1\r\n/);
    expect((await s.get("one.wild.test")).status).toBe(200);
    const spent = await upgrade("two.wild.test");
    expect(spent).toMatch(/^HTTP\/1\.1 403/);
    expect(spent).toContain("its budget of 1 distinct names");
    expect(s.asked).toEqual(["plain.test", "one.wild.test"]);
    expect(s.upstream.seen).toHaveLength(2);
  });

  it("counts every name under a wildcard in one bucket, and takes per-host limits from the config", async () => {
    const s = await scenario((port) => ({
      rateLimit: {
        perSecond: 1,
        burst: 2,
        hosts: [{ pattern: `plain.test:${port}`, perSecond: 1, burst: 5 }],
      },
    }));
    expect((await s.get("a.wild.test")).status).toBe(200);
    expect((await s.get("b.wild.test")).status).toBe(200);
    const third = await s.get("c.wild.test");
    expect(third.status).toBe(429);
    expect(third.response).toContain(`(counted with "*.wild.test:${s.upstream.port}")`);
    expect(s.asked).not.toContain("c.wild.test");
    let ok = 0;
    for (let i = 0; i < 7; i++) if ((await s.get("plain.test")).status === 200) ok++;
    expect(ok).toBe(5);
  });
});
