// Sandbox scope, by address: from inside a real bottle's agent, nothing but the proxies is
// reachable. Unlisted names, IP literals and other ports are refused by the proxies; every
// address outside the internal network (the sidecars' egress side, the stand-in upstream,
// the host behind every bridge, another bottle, IPv6, the Docker engine) takes no TCP, UDP
// or ICMP at all. A listener on the host's every address would record any leak.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { bridgeGateway } from "../support/docker/docker-state.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  curlThrough,
  EGRESS_PROXY,
  everyProtocol,
  pipelockProxy,
  probeWithControls,
  reachedTargets,
} from "../support/docker/escape-bottle.js";
import type { ProbeOp } from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { dockerOn, nodeSide, ON_SWARM } from "../support/docker/test-backend.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";
import {
  createIpv6Network,
  gatewayOf,
  gatewaysOf,
  type HostListener,
  hostAddresses,
  ipOn,
  ipv6On,
  listenOnHost,
  type RecordingUpstream,
} from "../support/standins/escape-standins.js";

const execFileAsync = promisify(execFile);
/**
 * A bridge network's gateway is the host's own address on that bridge. A swarm overlay's
 * gateway is an address of the overlay's own network namespace on the node (no service, no
 * route on), which answers like any closed host on the network: there the node's own
 * addresses stand for the host (nodeSide).
 */
const NETWORK_GATEWAY_IS_HOST = !ON_SWARM;
const TOKEN = "cbtest-reach-route-token-7c1d9e";

function networksOf(bottle: RunningBottle, container: string): string[] {
  const out = dockerOn({ env: bottle.engine }, [
    "inspect",
    "-f",
    "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}",
    container,
  ]);
  return out.trim().split(/\s+/).sort();
}

/** TCP connects from inside `container` with its own node: "host:port yes|no" each. */
async function tcpFrom(
  bottle: RunningBottle,
  container: string,
  targets: [string, number][],
): Promise<string[]> {
  const script = `
    const net = require("node:net");
    const one = ([host, port]) => new Promise((done) => {
      const s = net.connect({ host, port, timeout: 2000 });
      const end = (ok) => { s.destroy(); done(host + ":" + port + " " + (ok ? "yes" : "no")); };
      s.on("connect", () => end(true)); s.on("error", () => end(false)); s.on("timeout", () => end(false));
    });
    Promise.all(${JSON.stringify(targets)}.map(one)).then((r) => console.log(JSON.stringify(r)));`;
  const { stdout } = await execFileAsync("docker", ["exec", container, "node", "-e", script], {
    env: { ...process.env, ...bottle.engine },
  });
  return JSON.parse(stdout) as string[];
}

describeWithEngine("escape: reaching what the bottle must not", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let neighbour: RunningBottle;
  let upstream: RecordingUpstream;
  let listener: HostListener;
  let v6Network: string;

  /**
   * The host's IPv4 addresses as the bottle can see them: gateways and its own interfaces;
   * on the swarm also the node's, every node's address and this machine behind them.
   */
  const hostSide = () => [
    ...new Set([
      ...(NETWORK_GATEWAY_IS_HOST
        ? [
            gatewayOf(bottle.internalNetwork, bottle.engine),
            gatewayOf(bottle.egressNetwork, bottle.engine),
          ]
        : []),
      bridgeGateway(bottle.engine),
      ...hostAddresses().v4,
      ...nodeSide(bottle.node),
    ]),
  ];
  /** Where a recording upstream runs, for the docker CLI. */
  const upstreamIp = () => ipOn(upstream.container, bottle.egressNetwork, upstream.env);
  /**
   * Runs `ops` in the agent with the positive controls in the same batch (TCP, UDP and ICMP
   * that do reach pipelock on the internal network); fails when a control did not reach it.
   */
  const agentProbe = (ops: readonly ProbeOp[]) => probeWithControls(bottle, ops);

  const escapeRequests = async () =>
    (await upstream.requests()).filter((r) => r.url.startsWith("/escape"));

  beforeAll(async () => {
    [bottle, neighbour] = await Promise.all([
      suite.startBottle(
        "reach",
        routedBottle({ allow: ["allowed.example.test"], route: "api.example.test", token: TOKEN }),
      ),
      suite.startBottle("neighbour", {
        bottle: "egress:\n  allow: [allowed.example.test]\nsupervise: true",
      }),
    ]);
    v6Network = await createIpv6Network(suite.scope);
    upstream = await suite.startUpstream(
      bottle,
      ["allowed.example.test", "api.example.test", "unlisted.example.test"],
      [v6Network],
    );
    listener = await listenOnHost();
  });

  beforeEach(() => {
    listener.arrivals();
  });

  afterAll(async () => {
    await listener?.close();
  });

  it("reaches an allowlisted host through its proxy (the control for every refusal here)", async () => {
    const r = await curlThrough(bottle, "https://allowed.example.test/control");
    expect(r).toMatchObject({ connect: 200, http: 200 });
    expect((await upstream.requests()).map((q) => q.url)).toContain("/control");
  });

  it("refuses a hostname that is not on the allowlist, through egress and pipelock alike", async () => {
    // Threat: the agent sends data to a host of its choosing.
    // pipelock answers the tunnel itself with the refusal's text; nothing goes further.
    const why = "is not on this bottle's egress allowlist";
    for (const proxy of [EGRESS_PROXY, pipelockProxy(bottle)]) {
      expect(
        await curlThrough(bottle, "https://unlisted.example.test/escape/u", { proxy }),
      ).toEqual({ connect: 200, http: 403, body: expect.stringContaining(why) });
      expect(
        await curlThrough(bottle, "http://unlisted.example.test/escape/u-plain", { proxy }),
      ).toEqual(expect.objectContaining({ http: 403, body: expect.stringContaining(why) }));
    }
    expect(await escapeRequests()).toEqual([]);
  });

  it("refuses IP literals, however the address is spelled", async () => {
    // Threat: an address bypasses a hostname allowlist (the upstream answers on any name).
    const ip = upstreamIp();
    const [a, b, c, d] = ip.split(".").map(Number) as [number, number, number, number];
    const decimal = String(((a << 24) >>> 0) + (b << 16) + (c << 8) + d);
    const hex = `0x${Number(decimal).toString(16)}`;
    const urls = [
      `https://${ip}/escape/ip`,
      `http://${ip}/escape/ip-plain`,
      `http://${decimal}/escape/ip-decimal`,
      `http://${hex}/escape/ip-hex`,
      `https://[::ffff:${ip}]/escape/ip-mapped`,
      `http://${a}.${(b << 16) + (c << 8) + d}/escape/ip-short`,
      "http://127.0.0.1:8888/escape/loopback",
      "http://localhost:8080/escape/localhost",
    ];
    for (const proxy of [EGRESS_PROXY, pipelockProxy(bottle)]) {
      for (const url of urls) {
        const r = await curlThrough(bottle, url, { proxy });
        // A CONNECT may be answered 200 by pipelock itself, to tell the refusal inside.
        expect(r.http, `${url} through ${proxy}`).not.toBe(200);
        expect(r.connect === 403 || r.http === 403 || r.http === 400, `${url}: ${r.body}`).toBe(
          true,
        );
      }
    }
    expect(await escapeRequests()).toEqual([]);
  });

  it("refuses CONNECT to another port of an allowed host", async () => {
    // Threat: an allowed name leads to another service on the same machine (ssh, admin ports).
    for (const proxy of [EGRESS_PROXY, pipelockProxy(bottle)]) {
      for (const port of [8443, 8080, 22]) {
        const r = await curlThrough(bottle, `https://allowed.example.test:${port}/escape/port`, {
          proxy,
        });
        expect([r.connect, r.http], `CONNECT allowed.example.test:${port} via ${proxy}`).toEqual([
          200, 403,
        ]);
        expect(r.body).toContain(`"allowed.example.test:${port}" is not on`);
      }
      const plain = await curlThrough(bottle, "http://allowed.example.test:8080/escape/port", {
        proxy,
      });
      expect(plain.http).toBe(403);
      // The route host is intercepted on 443 only; elsewhere it is just another host:port.
      const route = await curlThrough(bottle, "https://api.example.test:8443/escape/route-port", {
        proxy,
      });
      expect([route.connect, route.http]).toEqual([200, 403]);
    }
    const ports = (await upstream.requests()).map((q) => q.port);
    expect(ports.filter((p) => p !== 443 && p !== 80)).toEqual([]);
    expect(await escapeRequests()).toEqual([]);
  });

  it("has no way out with the proxy variables unset", async () => {
    // Threat: a program ignores HTTPS_PROXY and dials out directly.
    const ip = upstreamIp();
    const r = await bottle.exec(
      `curl -sS -m 5 --noproxy '*' https://allowed.example.test/escape/noproxy 2>&1; echo; curl -sS -m 5 --noproxy '*' --resolve allowed.example.test:443:${ip} https://allowed.example.test/escape/noproxy-ip 2>&1; true`,
    );
    expect(r.stdout).toContain("Could not resolve host: allowed.example.test");
    expect(r.stdout).not.toContain('"ok":true');
    expect(await escapeRequests()).toEqual([]);
  });

  it("takes no TCP, UDP or ICMP to the sidecars' egress-side addresses or the stand-in upstream", async () => {
    // Threat: a direct socket to the egress network skips pipelock (no allowlist, no DLP).
    const hosts = [
      ipOn(bottle.containerOf("pipelock"), bottle.egressNetwork, bottle.engine),
      upstreamIp(),
    ];
    const ops = everyProtocol(hosts, [443, 80, 8080, 8888]);
    expect(reachedTargets(ops, await agentProbe(ops))).toEqual([]);
    expect(await escapeRequests()).toEqual([]);
  });

  it("leaves egress, which holds the route tokens, no way out but through pipelock", async () => {
    // Threat: a subverted egress sending a token straight to a host of its choosing, around
    // pipelock's allowlist and DLP (which let each token reach its own hosts only).
    const egress = bottle.containerOf("egress");
    expect(networksOf(bottle, egress)).toEqual([bottle.internalNetwork]);
    const target = upstreamIp();
    const tries = await tcpFrom(bottle, egress, [
      [target, 443],
      [bottle.pipelockContainer, 8888],
    ]);
    // The control: pipelock answers on the internal network.
    expect(tries).toEqual([`${target}:443 no`, `${bottle.pipelockContainer}:8888 yes`]);
    expect(await escapeRequests()).toEqual([]);
  });

  it("takes no TCP, UDP or ICMP to the host, at any bridge gateway or host address", async () => {
    // Threat: the host itself (its sshd, databases, dev servers on 0.0.0.0) is one hop away.
    const hosts = hostSide();
    const ops = everyProtocol(hosts, [listener.port]);
    const reachedHost = reachedTargets(ops, await agentProbe(ops));
    expect({ reachedHost, arrivedAtHostListener: listener.arrivals() }).toEqual({
      reachedHost: [],
      arrivedAtHostListener: [],
    });
  });

  it("takes no TCP, UDP or ICMP to another bottle's containers, and cannot resolve their names", async () => {
    // Threat: one agent attacks or reads another bottle (its proxy, its supervise queue).
    const on = (service: "agent" | "pipelock" | "supervise", network: string) =>
      ipOn(neighbour.containerOf(service), network, neighbour.engine);
    const hosts = [
      on("agent", neighbour.internalNetwork),
      on("pipelock", neighbour.internalNetwork),
      on("pipelock", neighbour.egressNetwork),
      on("supervise", neighbour.internalNetwork),
    ];
    const ops: ProbeOp[] = [
      ...everyProtocol(hosts, [8888, 8000, 22]),
      { kind: "resolve", name: neighbour.pipelockContainer },
      { kind: "resolve", name: neighbour.agentContainer },
      { kind: "resolve", name: `claude-bottle-supervise-${neighbour.slug}` },
    ];
    const results = await agentProbe(ops);
    expect(reachedTargets(ops, results)).toEqual([]);
    expect(results.slice(-3).map((r) => r.outcome)).toEqual([
      "unresolved",
      "unresolved",
      "unresolved",
    ]);
    const viaProxy = await curlThrough(
      bottle,
      `http://${neighbour.pipelockContainer}:8888/__pipelock/healthz`,
      { proxy: pipelockProxy(bottle) },
    );
    expect(viaProxy.http).toBe(403);
  });

  it("has no IPv6 path: no TCP, UDP or ICMPv6 to a test container's IPv6 address or the host's", async () => {
    // Threat: an IPv6 route or address family the IPv4 rules do not cover.
    const upstreamV6 = ipv6On(upstream.container, v6Network, upstream.env);
    expect(upstreamV6).toMatch(/^fd7e:/);
    const hosts = [
      upstreamV6,
      ...gatewaysOf(v6Network, upstream.env),
      `::ffff:${upstreamIp()}`,
      ...hostAddresses().v6,
    ];
    const ops = everyProtocol(hosts, [443, listener.port]);
    expect(reachedTargets(ops, await agentProbe(ops))).toEqual([]);
    const literal = await curlThrough(bottle, `https://[${upstreamV6}]/escape/v6`);
    expect([literal.connect, literal.http]).toEqual([200, 403]);
    expect(literal.body).toContain("is an IP address");
    expect(listener.arrivals()).toEqual([]);
    expect(await escapeRequests()).toEqual([]);
  });

  it("cannot reach the Docker engine: no socket, no API on TCP 2375/2376 at any gateway", async () => {
    // Threat: the engine's API is root on the host: every bottle and every secret.
    // The same find first finds a socket planted for it, so an empty answer is a real one.
    const planted = `/var/tmp/cbtest-planted-${bottle.slug}.sock`;
    const sockets = await bottle.exec(
      `python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' ${planted} && for s in /var/run/docker.sock /run/docker.sock; do test -e $s && echo present $s; done; find / -xdev -type s 2>/dev/null; rm -f ${planted}`,
      { timeoutMs: 120_000 },
    );
    expect(sockets.code).toBe(0);
    expect(sockets.stdout.split("\n").filter(Boolean)).toEqual([planted]);
    const hosts = hostSide();
    const ops = hosts.flatMap((host): ProbeOp[] => [
      { kind: "tcp", host, port: 2375 },
      { kind: "tcp", host, port: 2376 },
    ]);
    expect(reachedTargets(ops, await agentProbe(ops))).toEqual([]);
  });
});
