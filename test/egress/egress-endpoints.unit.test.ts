import { describe, expect, it } from "vitest";
import {
  proxyRequest,
  startTestEgress,
  TOKEN_VALUES,
  TOKENS,
  useEgressBench,
} from "../support/sidecars/egress-harness.js";

const bench = useEgressBench();

const PUBLIC_ROUTES = {
  routes: [
    {
      host: "api.example.test",
      paths: ["/v1/", "/v2/models"],
      methods: ["GET", "POST"],
      scheme: "Bearer",
      tokenEnv: "EGRESS_TOKEN_0",
    },
    {
      host: "basic.example.test",
      paths: ["/"],
      methods: "all",
      scheme: "Basic",
      tokenEnv: "EGRESS_TOKEN_1",
    },
    {
      host: "gh.example.test",
      paths: ["/"],
      methods: "all",
      scheme: "token",
      tokenEnv: "EGRESS_TOKEN_2",
    },
    {
      host: "key.example.test",
      paths: ["/"],
      methods: "all",
      scheme: "x-api-key",
      tokenEnv: "EGRESS_TOKEN_3",
    },
  ],
};

function expectNoToken(text: string) {
  for (const value of TOKEN_VALUES) expect(text).not.toContain(value);
}

describe("egress's own endpoints", () => {
  it.each([
    ["absolute-form, as a proxy client sends it", "http://egress:8080/__egress/routes"],
    ["origin-form, addressed directly", "/__egress/routes"],
  ])("lists routes without token values (%s)", async (_how, target) => {
    const s = await bench.startScenario();
    const res = await proxyRequest(s.egress.port, target, { headers: { host: "egress:8080" } });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(res.body)).toEqual(PUBLIC_ROUTES);
    expectNoToken(`${JSON.stringify(res.headers)}${res.body}`);
    expect(s.pipelock.connects).toEqual([]);
    expect(s.pipelock.seen).toEqual([]);
  });

  it("answers healthz for Compose healthchecks", async () => {
    const s = await bench.startScenario();
    const direct = await proxyRequest(s.egress.port, "/__egress/healthz");
    expect(direct).toMatchObject({ status: 200, body: "ok\n" });
    const viaProxy = await proxyRequest(s.egress.port, "http://127.0.0.1:8080/__egress/healthz");
    expect(viaProxy).toMatchObject({ status: 200, body: "ok\n" });
  });

  it("explains unknown endpoints, wrong methods and non-proxy requests", async () => {
    const s = await bench.startScenario();
    expect(await proxyRequest(s.egress.port, "/__egress/nope")).toMatchObject({
      status: 404,
      body: "egress serves /__egress/routes and /__egress/healthz\n",
    });
    expect(await proxyRequest(s.egress.port, "/__egress/routes", { method: "POST" })).toMatchObject(
      {
        status: 405,
        body: "/__egress/routes answers GET only\n",
      },
    );
    expect(await proxyRequest(s.egress.port, "/somewhere")).toMatchObject({
      status: 400,
      body: "egress is a proxy: send absolute-form http:// requests or CONNECT host:port\n",
    });
  });

  it("logs one JSON line per request with no header, query, path or token", async () => {
    const s = await bench.startScenario();
    const agent = s.agent();
    await agent.fetch("https://api.example.test/v1/x?secret=query", {
      headers: { authorization: "Bearer agent-own-value", cookie: "session=abc" },
    });
    await agent.fetch("https://api.example.test/v3/y");
    await proxyRequest(s.egress.port, "/__egress/routes");
    const lines = s.egress.logs.slice(1).map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        time: expect.any(String),
        event: "request",
        kind: "intercept",
        routed: true,
        host: "api.example.test",
        method: "GET",
        path: null,
        status: 200,
        requestBytes: 0,
        responseBytes: JSON.stringify({ ok: true, path: "/v1/x?secret=query" }).length,
      },
      {
        time: expect.any(String),
        event: "request",
        kind: "intercept",
        routed: false,
        host: "api.example.test",
        method: "GET",
        path: null,
        status: 200,
        requestBytes: 0,
        responseBytes: JSON.stringify({ ok: true, path: "/v3/y" }).length,
      },
      {
        time: expect.any(String),
        event: "request",
        kind: "local",
        routed: false,
        host: "egress",
        method: "GET",
        path: "/__egress/routes",
        status: 200,
      },
    ]);
    const all = s.egress.logs.join("\n");
    expectNoToken(all);
    for (const leak of ["secret=query", "agent-own-value", "session=abc"])
      expect(all).not.toContain(leak);
  });

  it("never shows a token in an error page", async () => {
    const s = await bench.startScenario();
    // pipelock is gone: the routed request fails upstream after the token was added.
    await s.pipelock.close();
    const res = await s.agent().fetch("https://api.example.test/v1/x");
    expect(res.status).toBe(502);
    expect(res.body).toMatch(
      /^egress could not complete the request upstream: cannot reach pipelock at 127\.0\.0\.1:\d+: connect ECONNREFUSED/,
    );
    expectNoToken(res.body + s.egress.logs.join("\n"));
  });
});

describe("starting egress", () => {
  it("refuses to start when a route's token variable is unset or empty, naming it", async () => {
    const { EGRESS_TOKEN_0: _, ...withoutFirst } = TOKENS;
    const start = startTestEgress({
      routesYaml: `routes:
  - host: api.example.test
    auth: { scheme: Bearer, tokenEnv: EGRESS_TOKEN_0 }
  - host: key.example.test
    auth: { scheme: x-api-key, tokenEnv: EGRESS_TOKEN_3 }
  - host: gh.example.test
    auth: { scheme: token, tokenEnv: EGRESS_TOKEN_2 }
`,
      env: { ...withoutFirst, EGRESS_TOKEN_3: "" },
      egressCa: bench.cas.egress,
      pipelockPort: 1,
      upstreamCaPem: bench.cas.pipelock.certPem,
    });
    await expect(start).rejects.toThrow(
      [
        "route api.example.test: environment variable EGRESS_TOKEN_0 is unset or empty; egress needs it for the route's token",
        "route key.example.test: environment variable EGRESS_TOKEN_3 is unset or empty; egress needs it for the route's token",
      ].join("\n"),
    );
  });

  it("refuses a token that cannot be sent in a header, without showing it", async () => {
    const start = startTestEgress({
      routesYaml: "routes:\n  - host: a.test\n    auth: { scheme: Bearer, tokenEnv: T }\n",
      env: { T: "abc\r\nX-Injected: 1" },
      egressCa: bench.cas.egress,
      pipelockPort: 1,
      upstreamCaPem: bench.cas.pipelock.certPem,
    });
    const error = await start.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe(
      "route a.test: environment variable T holds characters that cannot be sent in an HTTP header (control characters, non-ASCII, or leading or trailing spaces)",
    );
    expect(error?.message).not.toContain("abc");
  });

  it("names the routes file and line of a mistake", async () => {
    const start = startTestEgress({
      routesYaml:
        "routes:\n  - host: a.test\n    auth: { scheme: Bearer, tokenEnv: T }\n    method: [GET]\n",
      env: { T: "x" },
      egressCa: bench.cas.egress,
      pipelockPort: 1,
      upstreamCaPem: bench.cas.pipelock.certPem,
    });
    await expect(start).rejects.toThrow(
      /routes\.yaml:4:13: routes\[0\]\.method: unknown key "method"$/,
    );
  });
});
