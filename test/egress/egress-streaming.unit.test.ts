import { createHash } from "node:crypto";
import { request } from "undici";
import { describe, expect, it } from "vitest";
import { PIPELOCK_MODES, TOKENS, useEgressBench } from "../support/sidecars/egress-harness.js";

const bench = useEgressBench();

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not arrive within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe.each(PIPELOCK_MODES)("egress through %s", (_name, intercept) => {
  /** An event stream from `path`, once its head has come (within 5 s) and says so. */
  async function eventStream(path: string, what: string) {
    const s = await bench.startScenario({ intercept });
    const res = await within(
      5000,
      what,
      request(`https://basic.example.test${path}`, { dispatcher: s.agent().dispatcher }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    return { s, res };
  }

  it("streams server-sent events: the first arrives before the upstream finishes", async () => {
    const { s, res } = await eventStream("/sse", "the response head");
    const events = res.body[Symbol.asyncIterator]();
    const first = await within(5000, "the first event", events.next());
    expect(Buffer.from(first.value as Uint8Array).toString()).toBe("data: first\n\n");
    expect(s.upstream.sseFinished()).toBe(false);
    s.upstream.releaseSse();
    let rest = "";
    for (let next = await events.next(); !next.done; next = await events.next()) {
      rest += Buffer.from(next.value as Uint8Array).toString();
    }
    expect(rest).toBe("data: second\n\n");
    expect(s.upstream.sseFinished()).toBe(true);
    expect(s.upstream.seen[0]?.headers.authorization).toMatch(/^Basic /);
  });

  it("shows an idle event stream's response head before its first event", async () => {
    const { s, res } = await eventStream("/sse-idle", "the response head of an idle stream");
    expect(s.upstream.sseFinished()).toBe(false);
    s.upstream.releaseSse();
    expect(await within(5000, "the event", res.body.text())).toBe("data: at last\n\n");
  });

  it("streams large bodies both ways intact", async () => {
    const s = await bench.startScenario({ intercept });
    const agent = s.agent();
    const big = await request("https://gh.example.test/big", { dispatcher: agent.dispatcher });
    const bytes = Buffer.from(await big.body.arrayBuffer());
    const expected = Buffer.alloc(1024 * 1024, "0123456789abcdef");
    expect(bytes.length).toBe(expected.length);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(
      createHash("sha256").update(expected).digest("hex"),
    );
    const upload = await agent.fetch("https://gh.example.test/count", {
      method: "POST",
      body: "x".repeat(3 * 1024 * 1024 + 7),
    });
    expect(upload).toMatchObject({ status: 200, body: String(3 * 1024 * 1024 + 7) });
  });
});

describe("egress's trust in pipelock", () => {
  it("trusts pipelock's CA from EGRESS_UPSTREAM_CA, and pipelock sees the injected token", async () => {
    const s = await bench.startScenario({ intercept: true });
    const res = await s.agent().fetch("https://api.example.test/v1/x");
    expect(res.status).toBe(200);
    expect(s.pipelock.seen[0]).toMatchObject({ host: "api.example.test", url: "/v1/x" });
    expect(s.pipelock.seen[0]?.headers.authorization).toBe(`Bearer ${TOKENS.EGRESS_TOKEN_0}`);
    expect(s.upstream.seen[0]?.headers.authorization).toBe(`Bearer ${TOKENS.EGRESS_TOKEN_0}`);
  });

  it("refuses an intercepting pipelock whose CA it was not given, before sending anything", async () => {
    const s = await bench.startScenario({
      intercept: true,
      upstreamCaPem: bench.cas.upstream.certPem,
    });
    const res = await s.agent().fetch("https://api.example.test/v1/x");
    expect(res.status).toBe(502);
    expect(res.body).toMatch(
      /^egress could not complete the request upstream: TLS to api\.example\.test through pipelock failed: /,
    );
    expect(s.pipelock.seen).toEqual([]);
    expect(s.upstream.seen).toEqual([]);
  });
});
