// Sandbox scope, by confusing the proxies: a tunnel or request opened for an allowed host
// whose other names (Host header, TLS server name, absolute URL) point elsewhere, and
// request smuggling (Content-Length against Transfer-Encoding, pipelining) that hides a
// second request for an unlisted host inside the first. The stand-in upstream answers every
// name on one address, so any request that slipped through would be recorded there.
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  type ExchangeOp,
  httpRequest,
  probe,
  probeOne,
  webSocketUpgrade,
} from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";
import {
  headerValues,
  type RecordingUpstream,
  type StandInRequest,
} from "../support/standins/escape-standins.js";

const TOKEN = "cbtest-confusion-route-token-4b8e2a";
const ALLOWED = "allowed.example.test";
const ROUTE = "api.example.test";
const UNLISTED = "unlisted.example.test";

/** One way into the proxies: which proxy, and the tunnel or absolute-form request it takes. */
interface Way {
  name: string;
  proxy: string;
  /** The host the tunnel or request is for. */
  host: string;
  /** CONNECT and TLS, or absolute-form http:// straight to the proxy. */
  tunnel: boolean;
}

describeWithEngine("escape: confusing the proxies", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;
  let ways: Way[];
  const received = suite.receivedInEachTest(() => upstream);

  /**
   * Requests the upstream got during this test for `/escape…`, or under a name other than
   * the one it was sent to.
   */
  const strays = async (): Promise<StandInRequest[]> =>
    (await received()).filter(
      (r) =>
        r.url.startsWith("/escape") ||
        r.sni === UNLISTED ||
        headerValues(r, "host").some((h) => h.startsWith(UNLISTED)) ||
        headerValues(r, "host").length !== 1,
    );

  const exchange = (way: Way, send: Buffer[], extra: Partial<ExchangeOp> = {}) =>
    probeOne(bottle.agentContainer, {
      kind: "exchange",
      proxy: way.proxy,
      ...(way.tunnel ? { connect: `${way.host}:443`, tls: true } : {}),
      send,
      quietMs: 2500,
      ...extra,
    });

  /** The request target for `path` on this way: origin-form in a tunnel, absolute otherwise. */
  const target = (way: Way, path: string) => (way.tunnel ? path : `http://${way.host}${path}`);

  beforeAll(async () => {
    bottle = await suite.startBottle(
      "confusion",
      routedBottle({ allow: [ALLOWED], route: ROUTE, token: TOKEN }),
    );
    upstream = await suite.startUpstream(bottle, [ALLOWED, ROUTE, UNLISTED]);
    const pipelock = `${bottle.pipelockContainer}:8888`;
    ways = [
      { name: "tunnel through pipelock", proxy: pipelock, host: ALLOWED, tunnel: true },
      { name: "tunnel relayed by egress", proxy: "egress:8080", host: ALLOWED, tunnel: true },
      { name: "route intercepted by egress", proxy: "egress:8080", host: ROUTE, tunnel: true },
      { name: "plain http through pipelock", proxy: pipelock, host: ALLOWED, tunnel: false },
      { name: "plain http through egress", proxy: "egress:8080", host: ALLOWED, tunnel: false },
    ];
  });

  it("passes a well-formed request on every way in (the control)", async () => {
    for (const way of ways) {
      const r = await exchange(way, [
        httpRequest(`GET ${target(way, "/control")} HTTP/1.1`, [
          ["Host", way.host],
          ["Connection", "close"],
        ]),
      ]);
      expect(r.status, `${way.name}: ${r.response}`).toBe(200);
    }
    const seen = (await upstream.requests()).filter((q) => q.url === "/control");
    expect(seen).toHaveLength(ways.length);
    const routed = seen.filter((q) => headerValues(q, "authorization").includes(`Bearer ${TOKEN}`));
    expect(routed.map((q) => headerValues(q, "host"))).toEqual([[ROUTE]]);
  });

  it("refuses a Host header that names an unlisted host", async () => {
    // Threat: domain fronting: the allowed name opens the way, the Host header picks the site.
    for (const way of ways) {
      const r = await exchange(way, [
        httpRequest(`GET ${target(way, "/escape/host-spoof")} HTTP/1.1`, [
          ["Host", UNLISTED],
          ["Connection", "close"],
        ]),
      ]);
      expect([403, 421], `${way.name}: ${r.response}`).toContain(r.status);
      const upgrade = await exchange(way, [
        webSocketUpgrade(target(way, "/escape/host-spoof-ws"), UNLISTED),
      ]);
      expect((upgrade.status ?? 0) >= 400, `${way.name}, upgrade: ${upgrade.response}`).toBe(true);
    }
    expect(await strays()).toEqual([]);
  });

  it("refuses a request that carries two Host headers", async () => {
    // Threat: the proxy checks the first Host header, a server or CDN behind it routes on the last.
    const passed: string[] = [];
    for (const way of ways) {
      const r = await exchange(way, [
        httpRequest(`GET ${target(way, "/escape/two-hosts")} HTTP/1.1`, [
          ["Host", way.host],
          ["Host", UNLISTED],
          ["Connection", "close"],
        ]),
      ]);
      if ((r.status ?? 0) < 400) passed.push(`${way.name}: ${r.status}`);
    }
    const arrived = (await strays()).map(
      (q) =>
        `${q.url} Host: ${headerValues(q, "host").join(" + ")}${headerValues(q, "authorization").includes(`Bearer ${TOKEN}`) ? ", with the route's token" : ""}`,
    );
    expect({ passed, arrived }).toEqual({ passed: [], arrived: [] });
  });

  it("refuses a TLS server name that differs from the CONNECT host, and never sends the agent's", async () => {
    // Threat: the SNI picks another site behind the allowed address.
    for (const way of ways.filter((w) => w.tunnel)) {
      for (const host of [UNLISTED, way.host]) {
        const r = await exchange(
          way,
          [
            httpRequest(`GET /escape/sni HTTP/1.1`, [
              ["Host", host],
              ["Connection", "close"],
            ]),
          ],
          { sni: UNLISTED },
        );
        // egress answers route hosts itself and goes on under the route's name, never the agent's.
        const refused = r.status === 403 || r.status === 421;
        const toRouteOnly = way.host === ROUTE && host === ROUTE && r.status === 200;
        expect(refused || toRouteOnly, `${way.name}, Host ${host}: ${r.response}`).toBe(true);
      }
    }
    const stray = (await strays()).filter(
      (q) => q.sni !== ROUTE || headerValues(q, "host")[0] !== ROUTE,
    );
    expect(stray).toEqual([]);
  });

  it("refuses an absolute-form URL naming another host inside a tunnel", async () => {
    // Threat: the request line names the real destination while the tunnel names an allowed one.
    for (const way of ways.filter((w) => w.tunnel)) {
      const r = await exchange(way, [
        httpRequest(`GET https://${UNLISTED}/escape/absolute HTTP/1.1`, [
          ["Host", way.host],
          ["Connection", "close"],
        ]),
      ]);
      // egress reduces it to its path on the route host; pipelock refuses the mismatch.
      if (way.host !== ROUTE) expect(r.status, `${way.name}: ${r.response}`).toBe(403);
    }
    const stray = (await strays()).filter((q) => headerValues(q, "host")[0] !== ROUTE);
    expect(stray).toEqual([]);
  });

  it("lets no smuggled request through with Content-Length against Transfer-Encoding (CL.TE, TE.CL)", async () => {
    // Threat: the proxy and the server disagree where the first request ends; the rest is a
    // second request, to an unlisted host, that no proxy checked.
    const smuggled = `GET /escape/smuggled HTTP/1.1\r\nHost: ${UNLISTED}\r\n\r\n`;
    const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    for (const way of ways) {
      const variants: Array<[string, Array<[string, string]>, string]> = [
        [
          "CL.TE",
          [
            ["Content-Length", String(5 + smuggled.length)],
            ["Transfer-Encoding", "chunked"],
          ],
          `0\r\n\r\n${smuggled}`,
        ],
        [
          "TE.CL",
          [
            ["Transfer-Encoding", "chunked"],
            ["Content-Length", "4"],
          ],
          chunk,
        ],
        [
          "TE.TE",
          [
            ["Transfer-Encoding", "chunked"],
            ["Transfer-Encoding", "identity"],
            ["Content-Length", String(5 + smuggled.length)],
          ],
          `0\r\n\r\n${smuggled}`,
        ],
        [
          "obfuscated TE",
          [
            ["Transfer-Encoding", " xchunked"],
            ["Content-Length", String(5 + smuggled.length)],
          ],
          `0\r\n\r\n${smuggled}`,
        ],
      ];
      for (const [name, headers, body] of variants) {
        const r = await exchange(way, [
          httpRequest(
            `POST ${target(way, `/escape/${name.replace(/\W/g, "-")}`)} HTTP/1.1`,
            [["Host", way.host], ...headers],
            body,
          ),
        ]);
        // The proxy answered (a refusal, or the first request only), and not for the smuggled one.
        expect(r.status, `${way.name}, ${name}: ${r.outcome} ${r.detail ?? ""}`).toBeTypeOf(
          "number",
        );
        expect(r.response ?? "", `${way.name}, ${name}`).not.toContain('"url":"/escape/smuggled"');
      }
    }
    const stray = (await strays()).filter(
      (q) => q.url.includes("smuggled") || headerValues(q, "host").some((h) => h === UNLISTED),
    );
    expect(stray).toEqual([]);
  });

  it("checks every pipelined request on a connection, not only the first", async () => {
    // Threat: the first request on a kept-alive connection is checked, later ones ride along.
    const ops = ways.map(
      (way): ExchangeOp => ({
        kind: "exchange",
        proxy: way.proxy,
        ...(way.tunnel ? { connect: `${way.host}:443`, tls: true } : {}),
        quietMs: 2500,
        send: [
          Buffer.concat([
            httpRequest(`GET ${target(way, "/pipelined-first")} HTTP/1.1`, [["Host", way.host]]),
            httpRequest(
              `GET ${way.tunnel ? "/escape/pipelined" : `http://${UNLISTED}/escape/pipelined`} HTTP/1.1`,
              [
                ["Host", UNLISTED],
                ["Connection", "close"],
              ],
            ),
          ]),
        ],
      }),
    );
    const results = await probe(bottle.agentContainer, ops);
    for (const [i, r] of results.entries()) {
      expect(r.response ?? "", ways[i]?.name).toContain('"url":"/pipelined-first"');
      expect(r.response ?? "", ways[i]?.name).not.toContain('"url":"/escape/pipelined"');
    }
    expect(await strays()).toEqual([]);
  });
});
