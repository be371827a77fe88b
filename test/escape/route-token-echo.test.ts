// Sandbox escape, by getting a route's token handed back: egress adds the real token to a
// routed request, and an upstream that echoes requests (debug endpoints do) would return it
// to the agent in a header or body, plain, compressed, encoded or cut across writes. And by
// widening a route: a method override on a GET-only route, a doubly encoded path that the
// server resolves outside the route's prefix, a Host header the proxies cannot read. The
// agent must only ever read the placeholder, and the recording stand-in must only ever get
// the token on requests the route covers.
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { curlThrough, EGRESS_PROXY } from "../support/docker/escape-bottle.js";
import { httpRequest, probeOne } from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";
import { encodedForms } from "../support/fixtures/encoded-forms.js";
import {
  headerValues,
  type RecordingUpstream,
  type StandInRequest,
} from "../support/standins/escape-standins.js";

const TOKEN = "cbtest-echo-route-token-7c1d9e3f5a";
/** egress's placeholder: its pattern, cut to the token's length. */
const PLACEHOLDER = "egress-placeholder-".repeat(2).slice(0, TOKEN.length);
const ALLOWED = "allowed.example.test";
const ROUTE = "api.example.test";

function tokenIn(text: string): string[] {
  return encodedForms(TOKEN).filter((form) => text.includes(form));
}

/** The body of curl -i output: after the last blank line (the proxy's CONNECT answer comes first). */
function bodyOf(output: string): string {
  return output.slice(output.lastIndexOf("\r\n\r\n") + 4);
}

describeWithEngine("escape: a route's token handed back, or a route widened", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;

  /** What the stand-in received during this test. */
  const received = suite.receivedInEachTest(() => upstream);
  const withToken = (r: StandInRequest) =>
    headerValues(r, "authorization").includes(`Bearer ${TOKEN}`);

  /** curl as the agent through egress, response headers included (-i). */
  const curl = (url: string, args = "") =>
    curlThrough(bottle, url, { proxy: EGRESS_PROXY, args: `-i --path-as-is ${args}` });

  beforeAll(async () => {
    bottle = await suite.startBottle(
      "echo",
      routedBottle({
        allow: [ALLOWED],
        route: ROUTE,
        token: TOKEN,
        paths: ["/v1/"],
        methods: ["GET"],
      }),
    );
    upstream = await suite.startUpstream(bottle, [ALLOWED, ROUTE]);
  });

  it("carries the real token to the upstream on a routed GET (the control)", async () => {
    const r = await curl(`https://${ROUTE}/v1/control`);
    expect(r.connect).toBe(200);
    expect(r.http).toBe(200);
    const seen = await received();
    expect(seen.map((q) => q.url)).toEqual(["/v1/control"]);
    expect(seen.every(withToken)).toBe(true);
    expect(tokenIn(r.body)).toEqual([]);
  });

  it("shows the agent the placeholder where the upstream echoed the token in headers", async () => {
    const r = await curl(`https://${ROUTE}/v1/echo`);
    expect(r.http).toBe(200);
    expect((await received()).filter(withToken)).toHaveLength(1);
    expect(tokenIn(r.body)).toEqual([]);
    expect(r.body).toMatch(new RegExp(`^x-echo-authorization: Bearer ${PLACEHOLDER}\\r?$`, "im"));
    expect(r.body).toMatch(new RegExp(`^set-cookie: seen=${PLACEHOLDER}\\r?$`, "im"));
    expect(r.body).toMatch(
      new RegExp(`^location: /next\\?auth=Bearer%20${PLACEHOLDER}\\r?$`, "im"),
    );
  });

  it("shows the placeholder in an echoed JSON body", async () => {
    const r = await curl(`https://${ROUTE}/v1/echo?as=json`);
    expect(tokenIn(r.body)).toEqual([]);
    const json = JSON.parse(bodyOf(r.body));
    expect(json).toMatchObject({
      token: PLACEHOLDER,
      headers: { authorization: `Bearer ${PLACEHOLDER}` },
    });
  });

  it("decodes a gzip'd echo and shows the placeholder, asked for gzip or not", async () => {
    for (const args of ["--compressed", "-H 'Accept-Encoding: zstd'", ""]) {
      const r = await curl(`https://${ROUTE}/v1/echo?as=gzip`, args);
      expect(r.http, args).toBe(200);
      expect(r.body).not.toMatch(/^content-encoding:/im);
      expect(tokenIn(r.body), args).toEqual([]);
      expect(r.body, args).toContain(`"token":"${PLACEHOLDER}"`);
    }
    // The upstream was asked only for codings egress can decode.
    const asked = (await received()).map((q) => headerValues(q, "accept-encoding"));
    expect(asked).toHaveLength(3);
    expect(asked[0]?.[0]).toMatch(/^(gzip|deflate|br)(, (gzip|deflate|br))*$/);
    expect(asked.slice(1)).toEqual([["identity"], ["identity"]]);
  });

  it("replaces the token base64-encoded at every alignment and hex-encoded", async () => {
    for (const as of ["b64", "hex"]) {
      const r = await curl(`https://${ROUTE}/v1/echo?as=${as}`);
      expect(r.http).toBe(200);
      expect(tokenIn(r.body), as).toEqual([]);
      for (const line of bodyOf(r.body).split("\n")) {
        const decoded = Buffer.from(line, as === "hex" ? "hex" : "base64").toString("latin1");
        expect(decoded, `${as}: ${line}`).toContain(PLACEHOLDER.slice(1, -1));
      }
    }
  });

  it("catches the token cut across the chunks of a chunked answer", async () => {
    const r = await curl(`https://${ROUTE}/v1/echo?as=split`);
    expect(tokenIn(r.body)).toEqual([]);
    expect(r.body).toContain(`\r\n\r\ntoken=${PLACEHOLDER}\n`);
  });

  it("catches the token cut across two events' writes of an event stream", async () => {
    const r = await curl(`https://${ROUTE}/v1/echo?as=sse`, "-N");
    expect(r.body).toMatch(/^content-type: text\/event-stream/im);
    expect(tokenIn(r.body)).toEqual([]);
    expect(r.body).toContain(`\r\n\r\ndata: ${PLACEHOLDER}\n\n`);
  });

  it("does not let a method override widen a GET-only route", async () => {
    const attempts = [
      "-X POST -d x=1",
      "-H 'X-HTTP-Method-Override: POST'",
      "-H 'x-http-method: DELETE'",
      "-H 'X-Method-Override: GET, PUT'",
      "-X POST -H 'X-HTTP-Method-Override: GET' -d x=1",
    ];
    for (const args of attempts) await curl(`https://${ROUTE}/v1/override`, args);
    for (const query of ["_method=DELETE", "%5Fmethod=put", "_METHOD=post"]) {
      await curl(`https://${ROUTE}/v1/override?${query}`);
    }
    const seen = await received();
    expect(seen.filter(withToken).map((q) => `${q.method} ${q.url}`)).toEqual([]);
  });

  it("gives no token to doubly encoded or otherwise ambiguous paths", async () => {
    const paths = [
      "/v1/%252e%252e/admin",
      "/v1/%252E%252e/admin",
      "/v1/%25252e%25252e/admin",
      "/v1/..%252fadmin",
      "/v1/%c0%ae%c0%ae/admin",
      "/v1/..;/admin",
      "/v1//admin",
      "/v1/%5c..%5cadmin",
    ];
    for (const path of paths) await curl(`https://${ROUTE}${path}`);
    const seen = await received();
    expect(seen.filter(withToken).map((q) => q.url)).toEqual([]);
  });

  it("refuses a plain http:// request whose Host cannot be read or names another site", async () => {
    const plain = (host: string, path: string) =>
      probeOne(bottle.agentContainer, {
        kind: "exchange",
        proxy: "egress:8080",
        send: [
          httpRequest(`GET http://${ALLOWED}${path} HTTP/1.1`, [
            ["Host", host],
            ["Connection", "close"],
          ]),
        ],
        quietMs: 2500,
      });
    const control = await plain(ALLOWED, "/control-plain");
    expect(control.status, control.response).toBe(200);
    const hosts = [
      `${ALLOWED}:`,
      `[${ALLOWED}]`,
      `${ALLOWED}:99999`,
      `${ALLOWED}:80x`,
      `${ROUTE}`,
      `${ALLOWED}@${ROUTE}`,
    ];
    for (const host of hosts) {
      const r = await plain(host, "/escape-plain");
      expect([400, 403], `${host}: ${r.response}`).toContain(r.status);
      expect(r.response, host).toContain("x-claude-bottle-egress: error");
    }
    const seen = await received();
    expect(seen.map((q) => q.url)).toEqual(["/control-plain"]);
  });

  it("refuses an unreadable Host inside a route host's tunnel, sending no token", async () => {
    const hosts = [`${ROUTE}:`, `[${ROUTE}]`, `${ROUTE}:0`, `${ROUTE}:443x`, ALLOWED];
    for (const host of hosts) {
      const r = await probeOne(bottle.agentContainer, {
        kind: "exchange",
        proxy: "egress:8080",
        connect: `${ROUTE}:443`,
        tls: true,
        send: [
          httpRequest("GET /v1/escape-tunnel HTTP/1.1", [
            ["Host", host],
            ["Connection", "close"],
          ]),
        ],
        quietMs: 2500,
      });
      expect(r.connectStatus).toBe(200);
      expect([400, 421], `${host}: ${r.response}`).toContain(r.status);
      expect(tokenIn(r.response ?? "")).toEqual([]);
    }
    expect((await received()).filter((q) => q.url.startsWith("/v1/escape"))).toEqual([]);
  });
});
