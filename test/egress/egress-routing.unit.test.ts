import { describe, expect, it, vi } from "vitest";
import {
  connectRequest,
  proxyRequest,
  type Scenario,
  TOKENS,
  tunnelledRequest,
  useEgressBench,
} from "../support/sidecars/egress-harness.js";

const bench = useEgressBench();

// undici refuses Proxy-Authorization per request (tunnelledRequest covers that header), and
// adds Host to the object it is given: pass copies.
const AGENT_CREDENTIALS = {
  authorization: "Bearer agent-made-this-up",
  "x-api-key": "agent-key",
};

/** Egress dialled pipelock and nothing else. */
function expectOnlyPipelock(s: Scenario) {
  expect(s.egress.dialled.length).toBeGreaterThan(0);
  for (const target of s.egress.dialled) {
    expect(target).toEqual({ host: "127.0.0.1", port: s.pipelock.port });
  }
}

function lastLog(s: Scenario): Record<string, unknown> {
  return JSON.parse(s.egress.logs.at(-1) ?? "{}");
}

describe("egress on a route host", () => {
  it("replaces the agent's credentials with the route's token, only through pipelock", async () => {
    const s = await bench.startScenario();
    const res = await s.agent().fetch("https://api.example.test/v1/messages?beta=1", {
      method: "POST",
      headers: { ...AGENT_CREDENTIALS, "content-type": "application/json", "x-other": "kept" },
      body: '{"hello":"world"}',
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"ok":true,"path":"/v1/messages?beta=1"}');
    const seen = s.upstream.seen[0];
    expect(seen?.host).toBe("api.example.test");
    expect(seen?.headers.authorization).toBe(`Bearer ${TOKENS.EGRESS_TOKEN_0}`);
    expect(seen?.headers["x-api-key"]).toBeUndefined();
    expect(seen?.headers["proxy-authorization"]).toBeUndefined();
    expect(seen?.headers["x-other"]).toBe("kept");
    expect(seen?.headers.host).toBe("api.example.test");
    expect(s.pipelock.connects).toEqual(["api.example.test:443"]);
    expect(s.egress.running.hasLeafFor("api.example.test")).toBe(true);
    expectOnlyPipelock(s);
    expect(lastLog(s)).toMatchObject({
      event: "request",
      kind: "intercept",
      routed: true,
      host: "api.example.test",
      method: "POST",
      path: null,
      status: 200,
    });
  });

  it.each([
    [
      "basic.example.test",
      "authorization",
      `Basic ${Buffer.from(TOKENS.EGRESS_TOKEN_1).toString("base64")}`,
    ],
    ["gh.example.test", "authorization", `token ${TOKENS.EGRESS_TOKEN_2}`],
    ["key.example.test", "x-api-key", TOKENS.EGRESS_TOKEN_3],
  ])("injects %s's scheme as %s", async (host, header, value) => {
    const s = await bench.startScenario();
    const res = await s
      .agent()
      .fetch(`https://${host}/any/path`, { headers: { ...AGENT_CREDENTIALS } });
    expect(res.status).toBe(200);
    const seen = s.upstream.seen[0]?.headers;
    expect(seen?.[header]).toBe(value);
    const other = header === "x-api-key" ? "authorization" : "x-api-key";
    expect(seen?.[other]).toBeUndefined();
  });

  it("sends a Basic token that is already base64 as it is", async () => {
    const s = await bench.startScenario({
      routesYaml:
        "routes:\n  - host: basic.example.test\n    auth: { scheme: Basic, tokenEnv: B64 }\n",
      env: { B64: "cm9ib3Q6cGFzcw==" },
    });
    await s.agent().fetch("https://basic.example.test/");
    expect(s.upstream.seen[0]?.headers.authorization).toBe("Basic cm9ib3Q6cGFzcw==");
  });

  it.each([
    ["GET", "/v3/other", "a path outside the route"],
    ["DELETE", "/v1/thing", "a method outside the route"],
    ["GET", "/v2/modelsX", "a prefix without / that only matches whole segments"],
    ["GET", "/v1/%2e%2e/admin", "an encoded dot segment"],
    ["GET", "/v1/..%2fadmin", "an encoded slash"],
    ["GET", "/v1/../admin", "a dot segment"],
    ["GET", "/v1/.;x/admin", "a dot segment with parameters"],
  ])("passes %s %s unchanged and without the token (%s)", async (method, path) => {
    const s = await bench.startScenario();
    // By hand: undici would resolve dot segments before sending.
    const res = await tunnelledRequest(s.egress.port, {
      host: "api.example.test",
      method,
      path,
      ca: bench.cas.egress.certPem,
      headers: AGENT_CREDENTIALS,
    });
    expect(res.status).toBe(200);
    const seen = s.upstream.seen[0];
    expect(seen?.url).toBe(path);
    expect(seen?.headers.authorization).toBe(AGENT_CREDENTIALS.authorization);
    expect(seen?.headers["x-api-key"]).toBe("agent-key");
    expect(lastLog(s)).toMatchObject({ kind: "intercept", routed: false, status: 200 });
  });

  it("matches whole segments of a prefix without a trailing slash", async () => {
    const s = await bench.startScenario();
    const agent = s.agent();
    await agent.fetch("https://api.example.test/v2/models");
    await agent.fetch("https://api.example.test/v2/models/x");
    expect(s.upstream.seen.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${TOKENS.EGRESS_TOKEN_0}`,
      `Bearer ${TOKENS.EGRESS_TOKEN_0}`,
    ]);
  });

  it("refuses a request whose Host names another site (no domain fronting)", async () => {
    const s = await bench.startScenario();
    const res = await tunnelledRequest(s.egress.port, {
      host: "api.example.test",
      path: "/v1/x",
      ca: bench.cas.egress.certPem,
      headers: { host: "attacker.example.test" },
    });
    expect(res.status).toBe(421);
    expect(res.body).toBe(
      "egress routes this tunnel to api.example.test: the Host header names another site than api.example.test:443\n",
    );
    expect(s.upstream.seen).toEqual([]);
  });

  it("keeps connections alive on both sides", async () => {
    const s = await bench.startScenario();
    const agent = s.agent();
    for (let i = 0; i < 3; i++) {
      expect((await agent.fetch(`https://api.example.test/v1/${i}`)).status).toBe(200);
    }
    expect(s.pipelock.connects).toEqual(["api.example.test:443"]);
    expect(s.egress.dialled).toHaveLength(1);
  });

  it("retries an idempotent request once when pipelock dropped the idle connection", async () => {
    const s = await bench.startScenario({ resetIdleTunnelsMs: 100 });
    const agent = s.agent();
    // Wait until pipelock would reset the idle tunnel on the next write, not a fixed sleep.
    const idle = () => vi.waitFor(() => expect(s.pipelock.idleTunnels()).toBe(1));
    expect((await agent.fetch("https://api.example.test/v1/a")).status).toBe(200);
    await idle();
    expect((await agent.fetch("https://api.example.test/v1/b")).status).toBe(200);
    expect(s.pipelock.connects).toHaveLength(2);
    await idle();
    // A POST may have taken effect: the agent gets the failure, not a second POST.
    const post = await agent.fetch("https://api.example.test/v1/c", { method: "POST" });
    expect(post.status).toBe(502);
    expect(post.body).toMatch(/^egress could not complete the request upstream: .*ECONNRESET/);
    expect(s.upstream.seen.map((r) => r.url)).toEqual(["/v1/a", "/v1/b"]);
  });
});

describe("egress off its routes", () => {
  it("tunnels a non-route host untouched: no leaf, the agent's own headers", async () => {
    const s = await bench.startScenario();
    // Trusting only the upstream's CA: an interception by egress would fail the handshake.
    const res = await s
      .agent(bench.cas.upstream.certPem)
      .fetch("https://other.example.test/v1/x", { headers: { ...AGENT_CREDENTIALS } });
    expect(res.status).toBe(200);
    expect(s.upstream.seen[0]?.headers.authorization).toBe(AGENT_CREDENTIALS.authorization);
    expect(s.upstream.seen[0]?.headers["x-api-key"]).toBe("agent-key");
    expect(s.egress.running.hasLeafFor("other.example.test")).toBe(false);
    expect(s.pipelock.connects).toEqual(["other.example.test:443"]);
    expectOnlyPipelock(s);
    expect(lastLog(s)).toMatchObject({
      kind: "tunnel",
      routed: false,
      host: null,
      method: "CONNECT",
      path: null,
      status: 200,
    });
  });

  it("tunnels a route host on another port without intercepting it", async () => {
    const s = await bench.startScenario();
    const res = await s
      .agent(bench.cas.upstream.certPem)
      .fetch("https://api.example.test:8443/v1/x");
    expect(res.status).toBe(200);
    expect(s.upstream.seen[0]?.headers.authorization).toBeUndefined();
    expect(s.egress.running.hasLeafFor("api.example.test")).toBe(false);
    expect(s.pipelock.connects).toEqual(["api.example.test:8443"]);
  });

  it("relays pipelock's refusal of a CONNECT as pipelock wrote it", async () => {
    const s = await bench.startScenario({ deny: ["blocked.example.test:443"] });
    const res = await connectRequest(s.egress.port, "blocked.example.test:443");
    expect(res).toEqual({
      status: 403,
      body: "pipelock: blocked.example.test:443 is not on the allowlist\n",
    });
    expect(lastLog(s)).toMatchObject({ kind: "tunnel", host: null, status: 403 });
  });

  it("passes on pipelock's refusal of a route host's tunnel in its 502", async () => {
    const s = await bench.startScenario({ deny: ["api.example.test:443"] });
    const res = await s.agent().fetch("https://api.example.test/v1/x");
    expect(res).toMatchObject({
      status: 502,
      body:
        "egress could not complete the request upstream: pipelock refused the tunnel to " +
        "api.example.test:443 (HTTP/1.1 403 Forbidden): pipelock: api.example.test:443 is not on the allowlist\n",
    });
    expect(lastLog(s)).toMatchObject({ kind: "intercept", routed: true, status: 502 });
  });

  it("forwards plain http:// to pipelock with the agent's headers and never a token", async () => {
    const s = await bench.startScenario();
    const res = await proxyRequest(s.egress.port, "http://api.example.test/v1/x?q=1", {
      headers: {
        host: "api.example.test",
        authorization: "Bearer agent-own",
        "proxy-authorization": "x",
      },
    });
    expect(res.status).toBe(200);
    expect(s.pipelock.seen[0]?.url).toBe("http://api.example.test/v1/x?q=1");
    const seen = s.plain.seen[0];
    expect(seen?.url).toBe("/v1/x?q=1");
    expect(seen?.headers.authorization).toBe("Bearer agent-own");
    expect(seen?.headers["proxy-authorization"]).toBeUndefined();
    expectOnlyPipelock(s);
    expect(lastLog(s)).toMatchObject({
      kind: "forward",
      routed: false,
      path: null,
      status: 200,
    });
  });
});
