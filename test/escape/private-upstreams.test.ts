// Sandbox escape, by DNS rebinding: an allowlisted name that resolves to a private or local
// address (the host's bridge, a LAN service, another container) must not lead there. Every
// other engine test lets names resolve to private addresses, because its stand-ins live on
// Docker's private networks; this file starts its bottle as a user would, with the default
// (deny), and a twin bottle allowing them as the control: the same requests on the same
// paths reach the same kind of stand-in there. Through pipelock and through egress, by
// CONNECT, plain http and an absolute-form target inside the tunnel, the denied bottle's
// stand-in receives nothing, not even a request's head.
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  type CurlStatus,
  curlThrough,
  pipelockAddress,
  pipelockProxy,
} from "../support/docker/escape-bottle.js";
import { type ExchangeOp, httpRequest, probe } from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";
import { ipOn, type RecordingUpstream } from "../support/standins/escape-standins.js";

const ALLOWED = "allowed.example.test";
const ROUTE = "api.example.test";
const ROUTED = routedBottle({
  allow: [ALLOWED],
  route: ROUTE,
  token: "cbtest-private-route-token-51f0c2",
});

describeWithEngine("escape: allowlisted names that resolve to private addresses", () => {
  const suite = escapeSuite();
  let denied: RunningBottle;
  let allowed: RunningBottle;
  let deniedUpstream: RecordingUpstream;
  let allowedUpstream: RecordingUpstream;

  beforeAll(async () => {
    [denied, allowed] = await Promise.all([
      // The CLI's default: the test home's opt-in is taken away for this bottle.
      suite.startBottle("private-denied", {
        bottle: ROUTED.bottle,
        env: { ...ROUTED.env, CLAUDE_BOTTLE_ALLOW_PRIVATE_UPSTREAMS: undefined },
      }),
      suite.startBottle("private-allowed", {
        bottle: ROUTED.bottle,
        env: { ...ROUTED.env, CLAUDE_BOTTLE_ALLOW_PRIVATE_UPSTREAMS: "1" },
      }),
    ]);
    [deniedUpstream, allowedUpstream] = await Promise.all([
      suite.startUpstream(denied, [ALLOWED, ROUTE]),
      suite.startUpstream(allowed, [ALLOWED, ROUTE]),
    ]);
  });

  /** Every way in: CONNECT and plain http through egress and through pipelock, the route host. */
  const curlCases = (bottle: RunningBottle) => [
    { name: "CONNECT via egress", url: `https://${ALLOWED}/rebind/connect-egress` },
    {
      name: "CONNECT via pipelock",
      url: `https://${ALLOWED}/rebind/connect-pipelock`,
      proxy: pipelockProxy(bottle),
    },
    { name: "plain http via egress", url: `http://${ALLOWED}/rebind/plain-egress` },
    {
      name: "plain http via pipelock",
      url: `http://${ALLOWED}/rebind/plain-pipelock`,
      proxy: pipelockProxy(bottle),
    },
    { name: "route host via egress", url: `https://${ROUTE}/rebind/route` },
  ];
  const curlAll = async (bottle: RunningBottle) => {
    const out: Array<[string, CurlStatus]> = [];
    for (const c of curlCases(bottle)) {
      out.push([
        c.name,
        await curlThrough(bottle, c.url, c.proxy === undefined ? {} : { proxy: c.proxy }),
      ]);
    }
    return out;
  };
  /** GET with an absolute-form target inside a CONNECT tunnel to pipelock. */
  const absoluteForm = (bottle: RunningBottle): ExchangeOp => ({
    kind: "exchange",
    proxy: pipelockAddress(bottle),
    connect: `${ALLOWED}:443`,
    tls: true,
    send: [
      httpRequest(`GET https://${ALLOWED}/rebind/absolute-form HTTP/1.1`, [
        ["Host", ALLOWED],
        ["Connection", "close"],
      ]),
    ],
    quietMs: 3000,
  });
  const rebindPaths = async (upstream: RecordingUpstream) =>
    (await upstream.requests()).filter((r) => r.url.includes("rebind")).map((r) => r.url);

  it("reaches the stand-in on every path when private upstreams are allowed (the control)", async () => {
    const results = await curlAll(allowed);
    expect(results.map(([name, r]) => `${name}: ${r.http}`)).toEqual(
      results.map(([name]) => `${name}: 200`),
    );
    const [inTunnel] = await probe(
      allowed.containerOf("agent"),
      [absoluteForm(allowed)],
      allowed.engine,
    );
    expect(inTunnel?.status, inTunnel?.response).toBe(200);
    expect((await rebindPaths(allowedUpstream)).sort()).toEqual(
      [
        "/rebind/absolute-form",
        "/rebind/connect-egress",
        "/rebind/connect-pipelock",
        "/rebind/plain-egress",
        "/rebind/plain-pipelock",
        "/rebind/route",
      ].sort(),
    );
  });

  it("refuses every path by default, naming the private address, and the stand-in receives nothing", async () => {
    // Threat: an allowlisted name pointed at the host, the LAN or another container.
    const ip = ipOn(deniedUpstream.container, denied.egressNetwork, deniedUpstream.env);
    const why = (host: string) => `${host} resolves to ${ip}, a private or local address`;
    const results = await curlAll(denied);
    const hostOf = (name: string) => (name.startsWith("route") ? ROUTE : ALLOWED);
    expect(
      results.map(
        ([name, r]) =>
          `${name}: ${r.http} ${r.body.includes(why(hostOf(name))) ? "private" : r.body}`,
      ),
    ).toEqual(results.map(([name]) => `${name}: 403 private`));
    const [inTunnel] = await probe(
      denied.containerOf("agent"),
      [absoluteForm(denied)],
      denied.engine,
    );
    expect(inTunnel?.status, inTunnel?.response).toBe(403);
    expect(inTunnel?.response).toContain(why(ALLOWED));
    // Nothing arrived, not even a head: the stand-in notes each request as it comes.
    expect(await rebindPaths(deniedUpstream)).toEqual([]);
    const audited = (await denied.pipelockAudit()).filter((e) => e.rule === "private-address");
    expect(audited.length).toBeGreaterThanOrEqual(curlCases(denied).length + 1);
    expect(audited.every((e) => e.decision === "denied")).toBe(true);
  });
});
