import * as net from "node:net";
import { request } from "undici";
import { describe, expect, it } from "vitest";
import { placeholderOf } from "../../src/sidecars/egress/token-scrub.js";
import { encodedForms } from "../support/fixtures/encoded-forms.js";
import {
  PIPELOCK_MODES,
  proxyRequest,
  type Scenario,
  TOKENS,
  tunnelledRequest,
  useEgressBench,
} from "../support/sidecars/egress-harness.js";

const bench = useEgressBench();

const TOKEN = TOKENS.EGRESS_TOKEN_0;
const PLACEHOLDER = placeholderOf(TOKEN.length);

function expectNoToken(text: string) {
  for (const form of encodedForms(TOKEN)) expect(text).not.toContain(form);
}

function everything(res: { headers: Record<string, unknown>; body: string }): string {
  return `${JSON.stringify(res.headers)}\n${res.body}`;
}

function lastLog(s: Scenario): Record<string, unknown> {
  return JSON.parse(s.egress.logs.at(-1) ?? "{}");
}

describe.each(PIPELOCK_MODES)(
  "an upstream echoing the route's token, through %s",
  (_name, intercept) => {
    it("hands the agent the placeholder in headers and a JSON body, the upstream the token", async () => {
      const s = await bench.startScenario({ intercept });
      const res = await s.agent().fetch("https://api.example.test/v1/echo");
      expect(s.upstream.seen[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(res.status).toBe(200);
      expectNoToken(everything(res));
      expect(res.headers["x-echo-authorization"]).toBe(`Bearer ${PLACEHOLDER}`);
      expect(res.headers["set-cookie"]).toBe(`seen=${PLACEHOLDER}; Path=/`);
      expect(res.headers.location).toBe(`/next?auth=Bearer%20${PLACEHOLDER}`);
      expect(JSON.parse(res.body)).toMatchObject({
        token: PLACEHOLDER,
        headers: { authorization: `Bearer ${PLACEHOLDER}` },
      });
    });

    it.each(["gzip", "deflate", "br"])(
      "decodes a %s body, replaces the token, and sends it plain",
      async (coding) => {
        const s = await bench.startScenario({ intercept });
        const res = await s.agent().fetch(`https://api.example.test/v1/echo?as=${coding}`, {
          headers: { "accept-encoding": "gzip, deflate, br" },
        });
        expect(res.status).toBe(200);
        expect(res.headers["content-encoding"]).toBeUndefined();
        expect(res.headers["content-length"]).toBeUndefined();
        expect(JSON.parse(res.body)).toMatchObject({ token: PLACEHOLDER });
        expectNoToken(everything(res));
      },
    );

    it("refuses a body in a coding it cannot decode, and asks upstreams for decodable ones only", async () => {
      const s = await bench.startScenario({ intercept });
      const res = await s.agent().fetch("https://api.example.test/v1/echo?as=zstd", {
        headers: { "accept-encoding": "zstd, gzip" },
      });
      expect(s.upstream.seen[0]?.headers["accept-encoding"]).toBe("gzip");
      expect(res.status).toBe(502);
      expect(res.body).toBe(
        'egress refused the upstream\'s answer: the upstream answered with Content-Encoding "zstd"; egress decodes only gzip, deflate and br (and asks for no other), so it cannot check this body for route tokens\n',
      );
      expectNoToken(everything(res));
      expect(lastLog(s)).toMatchObject({ kind: "intercept", routed: true, status: 502 });
    });

    it.each(["b64", "hex"])("replaces %s forms at every alignment", async (as) => {
      const s = await bench.startScenario({ intercept });
      const res = await s.agent().fetch(`https://api.example.test/v1/echo?as=${as}`);
      expectNoToken(everything(res));
      const decoded = res.body
        .split(/[\n ]/)
        .map((form) => Buffer.from(form, as === "hex" ? "hex" : "base64").toString("latin1"));
      expect(decoded).toHaveLength(as === "hex" ? 3 : 6);
      // A base64 character shared with a neighbour keeps a few bits of the token's first or
      // last byte; every byte in between decodes to the placeholder.
      for (const text of decoded) expect(text).toContain(PLACEHOLDER.slice(1, -1));
    });

    it("catches the token cut across the chunks of a chunked body", async () => {
      const s = await bench.startScenario({ intercept });
      const res = await s.agent().fetch("https://api.example.test/v1/echo?as=split");
      expect(res.body).toBe(`token=${PLACEHOLDER}\n`);
    });

    it("relays no response trailers, so none can carry the token", async () => {
      const s = await bench.startScenario({ intercept });
      const res = await request("https://api.example.test/v1/echo?as=trailer", {
        dispatcher: s.agent().dispatcher,
      });
      expect(await res.body.text()).toBe("body\n");
      expect(res.trailers).toEqual({});
      expect(res.headers.trailer).toBeUndefined();
    });

    it("catches the token cut across the writes of an event stream", async () => {
      const s = await bench.startScenario({ intercept });
      const res = await s.agent().fetch("https://api.example.test/v1/echo?as=sse");
      expect(res.headers["content-type"]).toBe("text/event-stream");
      expect(res.body).toBe(`data: ${PLACEHOLDER}\n\n`);
    });
  },
);

describe("the Host header of a plain http:// request", () => {
  it.each([
    ["plain.example.test", 200],
    ["PLAIN.example.test.", 200],
    ["plain.example.test:80", 200],
    ["plain.example.test:", 400],
    ["plain.example.test:8o", 400],
    ["plain.example.test:99999", 400],
    ["plain.example.test:0", 400],
    ["[plain.example.test]", 400],
    ["[::1", 400],
    ["user@plain.example.test", 400],
    ["plain.example.test%2f", 400],
    ["plain.example.test:81", 403],
    ["other.example.test", 403],
    ["127.0.0.1", 403],
  ])("Host %j → %i", async (host, status) => {
    const s = await bench.startScenario();
    const res = await proxyRequest(s.egress.port, "http://plain.example.test/x", {
      headers: { host },
    });
    expect(res.status).toBe(status);
    expect(s.plain.seen).toHaveLength(status === 200 ? 1 : 0);
    if (status !== 200) {
      expect(res.body).toMatch(/^egress forwards this request to plain\.example\.test:80: /);
      expect(lastLog(s)).toMatchObject({ kind: "refused", status });
    }
  });

  it.each([
    "http://u@plain.example.test/x",
    "http://plain.example.test:/x",
    "http://plain.example.test\\@other.example.test/x",
    "http://0x7f.1/x",
  ])("refuses the target %s whose authority could be read two ways", async (target) => {
    const s = await bench.startScenario();
    const res = await proxyRequest(s.egress.port, target, {
      headers: { host: "plain.example.test" },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatch(
      /^egress (forwards only http:\/\/host\[:port\]\/path targets|could not parse this request)/,
    );
    expect(s.plain.seen).toEqual([]);
  });

  it("refuses a request with no Host or with two", async () => {
    const s = await bench.startScenario();
    const send = (head: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port: s.egress.port });
        const chunks: Buffer[] = [];
        socket.on("data", (c: Buffer) => chunks.push(c));
        socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
        socket.end(head);
      });
    expect(
      await send("GET http://plain.example.test/x HTTP/1.0\r\nConnection: close\r\n\r\n"),
    ).toMatch(/^HTTP\/1\.1 400 [\s\S]*the request has no Host header/);
    expect(
      await send(
        "GET http://plain.example.test/x HTTP/1.1\r\nHost: plain.example.test\r\nHost: other.example.test\r\nConnection: close\r\n\r\n",
      ),
    ).toMatch(/^HTTP\/1\.1 400 [\s\S]*more than one Host header/);
    expect(s.plain.seen).toEqual([]);
  });
});

describe("the Host header inside a route host's tunnel", () => {
  it.each([
    ["api.example.test:443", 200],
    ["api.example.test:", 400],
    ["[api.example.test]", 400],
    ["api.example.test:65536", 400],
    ["api.example.test:8443", 421],
    ["api.example.test.evil.test", 421],
  ])("Host %j → %i", async (host, status) => {
    const s = await bench.startScenario();
    const res = await tunnelledRequest(s.egress.port, {
      host: "api.example.test",
      path: "/v1/x",
      ca: bench.cas.egress.certPem,
      headers: { host },
    });
    expect(res.status).toBe(status);
    expect(s.upstream.seen).toHaveLength(status === 200 ? 1 : 0);
  });

  it("refuses an absolute-form target naming another site", async () => {
    const s = await bench.startScenario();
    const res = await tunnelledRequest(s.egress.port, {
      host: "api.example.test",
      path: "https://other.example.test/v1/x",
      ca: bench.cas.egress.certPem,
    });
    expect(res.status).toBe(421);
    expect(s.upstream.seen).toEqual([]);
  });
});

describe("method overrides on a GET and POST route", () => {
  const tunnelled = (
    s: Scenario,
    init: { path: string; method?: string; headers?: Record<string, string>; body?: string },
  ) =>
    tunnelledRequest(s.egress.port, {
      host: init.path.startsWith("gh:") ? "gh.example.test" : "api.example.test",
      path: init.path.replace(/^gh:/, ""),
      ca: bench.cas.egress.certPem,
      ...(init.method === undefined ? {} : { method: init.method }),
      ...(init.headers === undefined ? {} : { headers: init.headers }),
      ...(init.body === undefined ? {} : { body: init.body }),
    });

  it.each([
    [{ "X-HTTP-Method-Override": "DELETE" }, "/v1/x"],
    [{ "x-http-method": "put" }, "/v1/x"],
    [{ "X-Method-Override": "GET, DELETE" }, "/v1/x"],
    [{}, "/v1/x?_method=DELETE"],
    [{}, "/v1/x?a=1&%5Fmethod=delete"],
    [{}, "/v1/x?_METHOD=patch"],
    [{}, "/v1/x?%255Fmethod=PATCH"],
    [{}, "/v1/x?a;_method=PUT"],
    [{ "X-Original-URL": "/admin" }, "/v1/x"],
    [{ "X-Rewrite-URL": "/v1/x" }, "/v1/x"],
  ])("refuses %j on %s, sending nothing", async (headers, path) => {
    const s = await bench.startScenario();
    const res = await tunnelled(s, { path, headers });
    expect(res.status).toBe(403);
    expect(s.upstream.seen).toEqual([]);
    expect(lastLog(s)).toMatchObject({ kind: "refused", status: 403 });
  });

  it.each([
    ["application/x-www-form-urlencoded", "a=1&_method=DELETE"],
    ["application/x-www-form-urlencoded", "%5Fmethod=delete"],
    ["", "_method=DELETE"],
    [
      "multipart/form-data; boundary=b",
      '--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--b--\r\n',
    ],
    ["application/json", '{"a":1,"_method":"DELETE"}'],
    ["application/json; charset=utf-8", '{"\\u005fMETHOD":"put"}'],
    ["application/vnd.api+json", '{"_method":"patch"}'],
    ["application/json", '{"_method":"DELETE"'],
  ])("refuses a %j POST body carrying _method", async (type, body) => {
    const s = await bench.startScenario();
    const res = await tunnelled(s, {
      path: "/v1/x",
      method: "POST",
      headers: type === "" ? {} : { "content-type": type },
      body,
    });
    expect(res.status).toBe(403);
    expect(s.upstream.seen).toEqual([]);
  });

  it.each([
    [{ path: "/v1/x", headers: { "X-HTTP-Method-Override": "POST" } }],
    [{ path: "/v1/x?_method=get" }],
    [{ path: "gh:/any", headers: { "X-HTTP-Method-Override": "DELETE" } }],
    [
      {
        path: "/v1/x",
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "a=1&method=x",
      },
    ],
    [
      {
        path: "/v1/x",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"method":"DELETE","nested":{"_method":"DELETE"},"_method":"post"}',
      },
    ],
    [
      {
        path: "/v1/x",
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: "_method=DELETE",
      },
    ],
  ])("gives the token when the route allows what is asked: %j", async (init) => {
    const s = await bench.startScenario();
    const res = await tunnelled(s, init);
    expect(res.status).toBe(200);
    expect(s.upstream.seen[0]?.headers.authorization).toMatch(/^(Bearer|token) /);
  });
});

describe("paths a server may read otherwise", () => {
  it.each([
    "/v1/%252e%252e/admin",
    "/v1/%252E%252E/admin",
    "/v1/x%252fy",
    "/v1/%25252e%25252e/admin",
    "/v1/%c0%ae%c0%ae/admin",
    "/v1/..;/admin",
    "/v1;x/y",
    "/v1//x",
    "/v1/%ef%bc%8e%ef%bc%8e/admin",
    "/v1/%5c..%5cadmin",
  ])("%s goes without the token", async (path) => {
    const s = await bench.startScenario();
    const res = await request(`https://api.example.test${path}`, {
      dispatcher: s.agent().dispatcher,
    });
    await res.body.text();
    expect(s.upstream.seen[0]?.headers.authorization).toBeUndefined();
  });
});
