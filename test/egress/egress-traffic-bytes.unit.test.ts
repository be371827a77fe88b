// The bytes egress counts on each relayed exchange, as its request line says once the exchange
// is over: the request body as sent upstream and the response body as the upstream sent it,
// counted while they stream, whether egress streamed the body or read it whole first.
import { describe, expect, it } from "vitest";
import {
  PIPELOCK_MODES,
  proxyRequest,
  type Scenario,
  useEgressBench,
} from "../support/sidecars/egress-harness.js";

const bench = useEgressBench();

/** The request line of the exchange to `host`, once egress has written it. */
async function lineFor(s: Scenario, host: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = s.egress.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === "request" && l.host === host && l.kind !== "local")
      .at(-1);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no request line for ${host}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(PIPELOCK_MODES)("egress's byte counts through %s", (_name, intercept) => {
  it("counts a streamed upload and its answer", async () => {
    const s = await bench.startScenario({ intercept });
    const size = 3 * 1024 * 1024 + 7;
    const res = await s.agent().fetch("https://gh.example.test/count", {
      method: "POST",
      body: "x".repeat(size),
    });
    expect(res).toMatchObject({ status: 200, body: String(size) });
    expect(await lineFor(s, "gh.example.test")).toMatchObject({
      kind: "intercept",
      routed: true,
      status: 200,
      requestBytes: size,
      responseBytes: String(size).length,
    });
  });

  it("counts a large chunked download and an event stream as they arrive", async () => {
    const s = await bench.startScenario({ intercept });
    const agent = s.agent();
    const big = await agent.fetch("https://gh.example.test/big");
    expect(big.body.length).toBe(1024 * 1024);
    expect(await lineFor(s, "gh.example.test")).toMatchObject({
      requestBytes: 0,
      responseBytes: 1024 * 1024,
    });
    const pending = agent.fetch("https://basic.example.test/sse");
    await new Promise((r) => setTimeout(r, 100));
    s.upstream.releaseSse();
    expect((await pending).body).toBe("data: first\n\ndata: second\n\n");
    expect(await lineFor(s, "basic.example.test")).toMatchObject({
      requestBytes: 0,
      responseBytes: "data: first\n\ndata: second\n\n".length,
    });
  });

  it("counts a body egress read whole to check it (a method-limited route)", async () => {
    const s = await bench.startScenario({ intercept });
    const body = JSON.stringify({ model: "m", messages: ["é".repeat(100)] });
    const res = await s.agent().fetch("https://api.example.test/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(200);
    expect(await lineFor(s, "api.example.test")).toMatchObject({
      routed: true,
      requestBytes: Buffer.byteLength(body),
      responseBytes: Buffer.byteLength(res.body),
    });
  });
});

describe("egress's own endpoints", () => {
  it("are absent from its own endpoints' lines", async () => {
    const s = await bench.startScenario();
    await proxyRequest(s.egress.port, "/__egress/routes");
    const local = s.egress.logs.map((l) => JSON.parse(l)).find((l) => l.kind === "local");
    expect(local).toBeDefined();
    expect(local).not.toHaveProperty("requestBytes");
    expect(local).not.toHaveProperty("responseBytes");
  });
});
