// What the sandbox-escape tests put around a bottle so that a leak would be seen, not just
// fail quietly: a recording stand-in upstream (every request with its raw headers, trailers,
// body and the port it came in on; every WebSocket frame), a stand-in DNS server that logs
// every datagram, a packet capture in the host's network namespace, listeners on the host's
// every address, and an IPv6 network. Everything they start carries one scope label and is
// removed by `tearDownEscape`; the only packet sent from here is the control query, from one
// stand-in to another.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { NODE_IMAGE } from "../../../src/backend/engine/images.js";
import type { RunningBottle } from "../docker/bottle-harness.js";
import { leftoversOf } from "../docker/docker-state.js";
import { BASE_IMAGE, docker } from "../docker/git-gate-docker.js";
import { dockerOn, nodeEngine, ON_SWARM, testSwarm } from "../docker/test-backend.js";
import { runDocker } from "../swarm/docker-process.js";
import { deploySwarmStandIn, removeSwarmStandIns } from "../swarm/swarm-standins.js";
import { leafPems, type UpstreamCa } from "../tls/test-ca.js";

const run = promisify(execFile);

/** Every stand-in of every test run: `removeTestContainers()` in bottle-harness finds these too. */
const TEST_LABEL = "dev.claude-bottle.test";
/** The escape scope a stand-in belongs to, so one file never removes another's. */
const RUN_LABEL = "dev.claude-bottle.test.escape";

export const CAPTURE_IMAGE = "claude-bottle-test/tcpdump:latest";

/** A name, a label and a cleanup for everything one test file starts. */
export interface EscapeScope {
  id: string;
  name(suffix: string): string;
  labels(): string[];
}

export function newEscapeScope(): EscapeScope {
  const id = randomBytes(4).toString("hex");
  return {
    id,
    name: (suffix) => `cbtest-escape-${id}-${suffix}`,
    labels: () => ["--label", `${TEST_LABEL}=1`, "--label", `${RUN_LABEL}=${id}`],
  };
}

/** `docker run -d` arguments for a stand-in named `container`, labelled in `scope`, on `network`. */
export function runDetached(scope: EscapeScope, container: string, network: string): string[] {
  return ["run", "-d", "--name", container, ...scope.labels(), "--network", network];
}

/** Removes the run's containers and networks (networks after the containers using them). */
export async function removeEscapeStandIns(scope: EscapeScope): Promise<void> {
  const filter = `label=${RUN_LABEL}=${scope.id}`;
  if (ON_SWARM) {
    // Its stand-in stacks, then its overlays, on the manager.
    await removeSwarmStandIns(`${RUN_LABEL}=${scope.id}`);
    const swarm = testSwarm();
    const networks = await swarm.docker(["network", "ls", "-q", "--filter", filter]);
    for (const id of networks.stdout.split("\n").filter(Boolean)) {
      await swarm.docker(["network", "rm", id], { allowFailure: true });
    }
  }
  const containers = (await docker(["ps", "-aq", "--filter", filter])).stdout.split("\n");
  const ids = containers.filter(Boolean);
  if (ids.length > 0) await docker(["rm", "-f", "-v", ...ids], { allowFailure: true });
  const networks = (await docker(["network", "ls", "-q", "--filter", filter])).stdout.split("\n");
  for (const id of networks.filter(Boolean)) {
    await docker(["network", "rm", id], { allowFailure: true });
  }
}

/**
 * Removes the run's stand-ins, then stops the bottles (in that order: a stand-in still on a
 * bottle's network keeps Compose from removing it), and returns the names of whatever is
 * left of either: empty when everything is gone.
 */
export async function tearDownEscape(
  scope: EscapeScope,
  bottles: ReadonlyArray<RunningBottle | undefined>,
): Promise<string[]> {
  await removeEscapeStandIns(scope);
  const started = bottles.filter((b) => b !== undefined);
  await Promise.all(started.map((b) => b.stop()));
  const left = await escapeLeftovers(scope);
  for (const b of started) left.push(...Object.values(leftoversOf(b.slug)).flat());
  return left;
}

/** What is left of the run on the engine: empty after `removeEscapeStandIns`. */
export async function escapeLeftovers(scope: EscapeScope): Promise<string[]> {
  const filter = `label=${RUN_LABEL}=${scope.id}`;
  if (ON_SWARM) {
    const swarm = testSwarm();
    const names = ["--filter", filter, "--format", "{{.Name}}"];
    const listed = [
      await swarm.docker(["service", "ls", ...names]),
      await swarm.docker(["network", "ls", ...names]),
      ...(await Promise.all(
        swarm.nodes.map((n) =>
          runDocker(["ps", "-a", "--filter", filter, "--format", "{{.Names}}"], {
            env: nodeEngine(n),
          }),
        ),
      )),
    ];
    return listed.flatMap((r) => r.stdout.split("\n").filter(Boolean));
  }
  const containers = await docker(["ps", "-a", "--filter", filter, "--format", "{{.Names}}"]);
  const networks = await docker(["network", "ls", "--filter", filter, "--format", "{{.Name}}"]);
  return `${containers.stdout}${networks.stdout}`.split("\n").filter(Boolean);
}

/** The container's address on `network`, asked of the engine `env` names (this one by default). */
export function ipOn(container: string, network: string, env: NodeJS.ProcessEnv = {}): string {
  return addressOn("IPAddress", container, network, env);
}

/** The container's global IPv6 address on `network`, as ipOn asks for its IPv4 one. */
export function ipv6On(container: string, network: string, env: NodeJS.ProcessEnv = {}): string {
  return addressOn("GlobalIPv6Address", container, network, env);
}

function addressOn(
  field: "IPAddress" | "GlobalIPv6Address",
  container: string,
  network: string,
  env: NodeJS.ProcessEnv,
): string {
  const format = `{{(index .NetworkSettings.Networks "${network}").${field}}}`;
  return dockerOn({ env }, ["inspect", "-f", format, container]).trim();
}

/**
 * The network's gateway: an address of the host itself, on that network's bridge (on the
 * swarm, an overlay's, asked of the node `env` names).
 */
export function gatewayOf(network: string, env: NodeJS.ProcessEnv = {}): string {
  return gatewaysOf(network, env)[0] as string;
}

/** Every gateway of the network, one per subnet (IPv4 and IPv6). */
export function gatewaysOf(network: string, env: NodeJS.ProcessEnv = {}): string[] {
  return dockerOn({ env }, [
    "network",
    "inspect",
    network,
    "-f",
    "{{range .IPAM.Config}}{{.Gateway}} {{end}}",
  ])
    .trim()
    .split(" ")
    .filter(Boolean);
}

/** Every address of the host's own interfaces but loopback: where a host listener answers. */
export function hostAddresses(): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === "IPv4") v4.push(a.address);
      else if (!a.address.startsWith("fe80:")) v6.push(a.address);
    }
  }
  return { v4, v6 };
}

export interface StandInRequest {
  /** Arrival order, from 1: the record is written when the head arrives and again at the end. */
  id: number;
  /**
   * false for a request whose body never ended: aborted part-way (body holds what came) or
   * still arriving when read (body empty so far). Either way the upstream received it.
   */
  complete: boolean;
  /** Bytes of body received; `body` holds the first BODY_BOUND of them. */
  bodyLength: number;
  port: number;
  tls: boolean;
  sni: string | null;
  method: string;
  url: string;
  rawHeaders: string[];
  rawTrailers: string[];
  /** base64 */
  body: string;
  upgrade?: boolean;
}

export interface StandInFrame {
  url: string;
  host: string | null;
  opcode: number;
  fin: boolean;
  /** base64 of the unmasked payload */
  payload: string;
}

export interface RecordingUpstream {
  container: string;
  /** DOCKER_HOST of the swarm node that runs it; empty under Compose. */
  env: NodeJS.ProcessEnv;
  requests(): Promise<StandInRequest[]>;
  frames(): Promise<StandInFrame[]>;
}

const UPSTREAM_PROGRAM = String.raw`
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { createServer as createHttp } from "node:http";
import { createServer as createHttps } from "node:https";
import { createSecureContext } from "node:tls";
import * as zlib from "node:zlib";
import { gzipSync } from "node:zlib";

const certs = JSON.parse(readFileSync("/srv/certs.json", "utf8"));
const contexts = Object.fromEntries(
  Object.entries(certs).map(([host, c]) => [host, createSecureContext(c)]),
);
const first = Object.values(certs)[0];
const note = (file, entry) => appendFileSync(file, JSON.stringify(entry) + "\n");
// Bodies are kept whole up to this many bytes (bodyLength counts them all).
const BODY_BOUND = 16 << 20;
let arrived = 0;
const describe = (req) => ({
  port: req.socket.localPort,
  tls: Boolean(req.socket.encrypted),
  sni: req.socket.servername || null,
  method: req.method,
  url: req.url,
  rawHeaders: req.rawHeaders,
});

// Every request is noted as its head arrives, and again when its body ends or breaks off:
// a body forwarded in part and then aborted is still a request the upstream received.
function handle(req, res) {
  const id = ++arrived;
  note("/tmp/arrivals.jsonl", { id, ...describe(req) });
  const chunks = [];
  let length = 0;
  req.on("data", (c) => {
    if (length < BODY_BOUND) chunks.push(c.subarray(0, BODY_BOUND - length));
    length += c.length;
  });
  const record = (complete) => {
    const body = Buffer.concat(chunks);
    note("/tmp/requests.jsonl", { id, complete, ...describe(req), rawTrailers: req.rawTrailers, bodyLength: length, body: body.toString("base64") });
    return body;
  };
  req.on("close", () => {
    if (!req.complete) record(false);
  });
  req.on("end", () => {
    const body = record(true);
    if (req.url.includes("/reflect")) return reflect(req, res, body);
    if (req.url.includes("/echo")) return echo(req, res);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true, url: req.url, bodyLength: body.length }));
  });
}

// A debug endpoint handing back the Authorization it got: in headers, and in the body as
// ?as= says (json, gzip, b64, hex; split and sse cut the token across two writes).
function echo(req, res) {
  const as = new URL(req.url, "http://x").searchParams.get("as") || "json";
  const value = req.headers.authorization || "";
  const token = value.slice(value.indexOf(" ") + 1);
  const head = { "x-echo-authorization": value, "set-cookie": "seen=" + token, location: "/next?auth=" + encodeURIComponent(value) };
  if (as === "split" || as === "sse") {
    const cut = token.length >> 1;
    res.writeHead(200, { ...head, "content-type": as === "sse" ? "text/event-stream" : "text/plain" });
    res.write((as === "sse" ? "data: " : "token=") + token.slice(0, cut));
    setTimeout(() => res.end(token.slice(cut) + (as === "sse" ? "\n\n" : "\n")), 300);
    return;
  }
  const text = as === "b64" ? ["", "x", "xy"].map((p) => Buffer.from(p + token + p).toString("base64")).join("\n")
    : as === "hex" ? Buffer.from(token).toString("hex") : JSON.stringify({ headers: req.headers, token });
  res.writeHead(200, { ...head, "content-type": "text/plain", ...(as === "gzip" ? { "content-encoding": "gzip" } : {}) });
  res.end(as === "gzip" ? gzipSync(text) : text);
}

// A debug endpoint an attacker can steer: the request's body is a function of the token it
// got and { Buffer, zlib }, returning { status, headers, chunks, delayMs, trailers }; chunks
// are written delayMs apart. Over WebSocket, each text message is such a function returning
// the frames to send ([{ opcode, payload, fin }]).
function steer(req, source) {
  const value = req.headers.authorization || "";
  const token = value.slice(value.indexOf(" ") + 1);
  return new Function("token", "lib", "return (" + source + ")(token, lib)")(token, { Buffer, zlib });
}

function reflect(req, res, body) {
  let out;
  try {
    out = steer(req, body.toString("utf8"));
  } catch (e) {
    res.writeHead(500, { "content-type": "text/plain" });
    return res.end("reflect: " + e);
  }
  const chunks = (out.chunks ?? []).map((c) => (typeof c === "string" ? Buffer.from(c, "latin1") : c));
  res.writeHead(out.status ?? 200, out.headers ?? {});
  const next = (i) => {
    if (i < chunks.length) {
      res.write(chunks[i]);
      return setTimeout(() => next(i + 1), out.delayMs ?? 0);
    }
    if (out.trailers) res.addTrailers(out.trailers);
    res.end();
  };
  next(0);
}

function upgrade(req, socket, head) {
  const id = ++arrived;
  note("/tmp/arrivals.jsonl", { id, ...describe(req) });
  note("/tmp/requests.jsonl", { id, complete: true, ...describe(req), rawTrailers: [], bodyLength: 0, body: "", upgrade: true });
  const key = req.headers["sec-websocket-key"];
  if (!key) return socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
  const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n");
  let buf = head;
  const onData = (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0] & 0x80) !== 0, opcode = buf[0] & 15, masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 127, at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
      const mask = masked ? buf.subarray(at, at + 4) : null;
      if (masked) at += 4;
      if (buf.length < at + len) return;
      const payload = Buffer.from(buf.subarray(at, at + len));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      buf = buf.subarray(at + len);
      note("/tmp/frames.jsonl", { url: req.url, host: req.headers.host ?? null, opcode, fin, payload: payload.toString("base64") });
      if (opcode === 8) { socket.end(Buffer.from([0x88, 0])); return; }
      if (opcode === 1 && req.url.includes("/reflect")) {
        for (const f of steer(req, payload.toString("utf8"))) {
          const p = typeof f.payload === "string" ? Buffer.from(f.payload, "latin1") : f.payload;
          const first = (f.fin === false ? 0 : 0x80) | f.opcode;
          socket.write(Buffer.concat([p.length < 126 ? Buffer.from([first, p.length]) : Buffer.from([first, 126, p.length >> 8, p.length & 255]), p]));
        }
        continue;
      }
      if (opcode === 1 || opcode === 2) {
        const echo = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 255]);
        socket.write(Buffer.concat([echo, payload]));
      }
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
  onData(Buffer.alloc(0));
}

const tlsOptions = {
  cert: first.cert,
  key: first.key,
  SNICallback: (name, cb) => cb(null, contexts[name] ?? Object.values(contexts)[0]),
};
for (const [server, port] of [[createHttps(tlsOptions, handle), 443], [createHttps(tlsOptions, handle), 8443], [createHttp(handle), 80], [createHttp(handle), 8080]]) {
  server.on("upgrade", upgrade);
  server.on("clientError", (e, s) => s.destroy());
  server.listen(port);
}
process.on("SIGTERM", () => process.exit(0));
`;

async function jsonLinesIn<T>(
  container: string,
  file: string,
  env: NodeJS.ProcessEnv = {},
): Promise<T[]> {
  const read = `cat ${file} 2>/dev/null || true`;
  const { stdout } = await run("docker", ["exec", container, "sh", "-c", read], {
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

/**
 * Every request the stand-in at `container` received, in arrival order: each as recorded at
 * its end (complete, or aborted with the body that came), or, while its body is still
 * arriving, as recorded at its head.
 */
async function requestsIn(
  container: string,
  env: NodeJS.ProcessEnv = {},
): Promise<StandInRequest[]> {
  // Arrivals first: a request that ends between the two reads is then found in both.
  const heads = await jsonLinesIn<
    Omit<StandInRequest, "complete" | "rawTrailers" | "body" | "bodyLength">
  >(container, "/tmp/arrivals.jsonl", env);
  const ended = new Map(
    (await jsonLinesIn<StandInRequest>(container, "/tmp/requests.jsonl", env)).map((r) => [
      r.id,
      r,
    ]),
  );
  return heads.map(
    (h) => ended.get(h.id) ?? { ...h, complete: false, rawTrailers: [], bodyLength: 0, body: "" },
  );
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function succeeds(args: string[]): boolean {
  try {
    execFileSync("docker", args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * The recording upstream on the bottle's egress network under `hostnames` (HTTPS on 443 and
 * 8443 with a certificate per name from `ca`, HTTP on 80 and 8080, WebSocket on all four),
 * and on `extraNetworks` too.
 */
export async function startRecordingUpstream(
  scope: EscapeScope,
  bottle: RunningBottle,
  options: { ca: UpstreamCa; hostnames: string[]; extraNetworks?: string[] },
): Promise<RecordingUpstream> {
  const dir = await mkdtemp(join(tmpdir(), "cb-escape-upstream-"));
  try {
    const certs = await leafPems(options.ca.ca, options.hostnames);
    await writeFile(join(dir, "certs.json"), JSON.stringify(certs));
    await writeFile(join(dir, "server.mjs"), UPSTREAM_PROGRAM);
    if (bottle.node !== null) {
      // On the swarm: a stack of its own on the bottle's node (swarm-standins.ts).
      const standIn = await deploySwarmStandIn({
        node: bottle.node,
        egressNetwork: bottle.egressNetwork,
        hostnames: options.hostnames,
        files: {
          "/srv/server.mjs": join(dir, "server.mjs"),
          "/srv/certs.json": join(dir, "certs.json"),
        },
        labels: { [TEST_LABEL]: "1", [RUN_LABEL]: scope.id },
        ...(options.extraNetworks === undefined ? {} : { extraNetworks: options.extraNetworks }),
        readyPort: 8443,
      });
      return {
        container: standIn.container,
        env: standIn.env,
        requests: () => requestsIn(standIn.container, standIn.env),
        frames: () =>
          jsonLinesIn<StandInFrame>(standIn.container, "/tmp/frames.jsonl", standIn.env),
      };
    }
    const container = scope.name(`upstream-${bottle.slug}`);
    await docker([
      "create",
      "--name",
      container,
      ...scope.labels(),
      "--network",
      bottle.egressNetwork,
      ...options.hostnames.flatMap((h) => ["--network-alias", h]),
      "--entrypoint",
      "node",
      NODE_IMAGE,
      "/srv/server.mjs",
    ]);
    // Copied, not mounted: the container outlives nothing of the host but its own files.
    await docker(["cp", `${dir}/.`, `${container}:/srv`]);
    for (const network of options.extraNetworks ?? []) {
      await docker(["network", "connect", network, container]);
    }
    await docker(["start", container]);
    await waitUntil("the recording upstream", () =>
      succeeds([
        "exec",
        container,
        "node",
        "-e",
        "require('net').connect(8443,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))",
      ]),
    );
    return {
      container,
      env: {},
      requests: () => requestsIn(container),
      frames: () => jsonLinesIn<StandInFrame>(container, "/tmp/frames.jsonl"),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A request's header values by lowercase name (a header sent twice appears twice). */
export function headerValues(request: Pick<StandInRequest, "rawHeaders">, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    if (request.rawHeaders[i]?.toLowerCase() === name) values.push(request.rawHeaders[i + 1] ?? "");
  }
  return values;
}

/** Everything a stand-in received, as one latin1 text to search for a secret in any form. */
export function everythingReceived(requests: StandInRequest[], frames: StandInFrame[]): string {
  return [
    ...requests.map(
      (r) =>
        `${r.method} ${r.url}\n${r.rawHeaders.join("\n")}\n${r.rawTrailers.join("\n")}\n${Buffer.from(r.body, "base64").toString("latin1")}`,
    ),
    ...frames.map((f) => Buffer.from(f.payload, "base64").toString("latin1")),
  ].join("\n");
}

export interface DnsQuery {
  transport: "udp" | "tcp";
  port: number;
  from: string;
  /** The question's name, or null for a datagram that is not a DNS query. */
  name: string | null;
  /** base64 of the datagram */
  raw: string;
}

export interface DnsStandIn {
  container: string;
  ip: string;
  /** Every datagram and TCP query it received, in order. */
  queries(): Promise<DnsQuery[]>;
}

const DNS_PROGRAM = String.raw`
import { createSocket } from "node:dgram";
import { appendFileSync } from "node:fs";
import { createServer } from "node:net";

const note = (entry) => appendFileSync("/tmp/queries.jsonl", JSON.stringify(entry) + "\n");
function nameOf(msg) {
  if (msg.length < 13) return null;
  const labels = [];
  for (let at = 12; at < msg.length; ) {
    const len = msg[at];
    if (len === 0) return labels.join(".");
    if (len > 63 || at + 1 + len > msg.length) return null;
    labels.push(msg.subarray(at + 1, at + 1 + len).toString("latin1"));
    at += 1 + len;
  }
  return null;
}
// REFUSED, with the question echoed: the resolver answers, and never resolves anything.
function refuse(msg) {
  const out = Buffer.from(msg);
  if (out.length >= 4) { out[2] = 0x80 | (out[2] & 0x79); out[3] = 0x05; }
  return out;
}
for (const port of [53, 9999]) {
  const udp = createSocket("udp4");
  udp.on("message", (msg, from) => {
    note({ transport: "udp", port, from: from.address, name: nameOf(msg), raw: msg.toString("base64") });
    if (port === 53) udp.send(refuse(msg), from.port, from.address);
  });
  udp.bind(port);
}
createServer((socket) => {
  let buf = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + msg.length);
      note({ transport: "tcp", port: 53, from: socket.remoteAddress, name: nameOf(msg), raw: msg.toString("base64") });
      const answer = refuse(msg);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(answer.length);
      socket.write(Buffer.concat([len, answer]));
    }
  });
  socket.on("error", () => socket.destroy());
}).listen(53);
process.on("SIGTERM", () => process.exit(0));
`;

/** A DNS server (udp and tcp 53, plus a udp catch-all on 9999) that logs and refuses everything. */
export async function startDnsStandIn(scope: EscapeScope, network: string): Promise<DnsStandIn> {
  const container = scope.name("dns");
  await docker([
    ...runDetached(scope, container, network),
    "--entrypoint",
    "node",
    NODE_IMAGE,
    "--input-type=module",
    "-e",
    DNS_PROGRAM,
  ]);
  await waitUntil("the DNS stand-in", () =>
    succeeds([
      "exec",
      container,
      "node",
      "-e",
      "require('net').connect(53,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))",
    ]),
  );
  return {
    container,
    ip: ipOn(container, network),
    queries: () => jsonLinesIn<DnsQuery>(container, "/tmp/queries.jsonl"),
  };
}

/**
 * Sends one DNS query for `name` from `fromContainer` (a node image) to `server`: a control
 * that proves the stand-in and the capture see a query that does cross a bridge.
 */
export async function sendControlQuery(
  fromContainer: string,
  server: string,
  name: string,
): Promise<void> {
  const script = `const d=require('dgram').createSocket('udp4');const l=Buffer.concat(${JSON.stringify(name)}.split('.').map(x=>Buffer.concat([Buffer.from([x.length]),Buffer.from(x)])));const q=Buffer.concat([Buffer.from([0,1,1,0,0,1,0,0,0,0,0,0]),l,Buffer.from([0,0,1,0,1])]);d.send(q,53,${JSON.stringify(server)},()=>{d.on('message',()=>process.exit(0));setTimeout(()=>process.exit(0),2000)})`;
  await docker(["exec", fromContainer, "node", "-e", script]);
}

/** Builds the capture image (tcpdump on the offline base) through the layer cache. */
export async function buildCaptureImage(): Promise<void> {
  const dockerfile = [
    "ARG BASE",
    // A Dockerfile variable, not a template placeholder.
    "FROM $BASE",
    "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tcpdump >/dev/null && rm -rf /var/lib/apt/lists/*",
    "",
  ].join("\n");
  await docker(["build", "-q", "--build-arg", `BASE=${BASE_IMAGE}`, "-t", CAPTURE_IMAGE, "-"], {
    input: dockerfile,
  });
}

export interface Capture {
  /**
   * Stops the capture and returns what it printed: one line per packet, payload as text.
   * Calling it again returns the same text.
   */
  stop(): Promise<string>;
}

/**
 * tcpdump on every interface of the host's network namespace (so on every bridge and veth
 * of every container, and on the way out of the machine), printing payloads as ASCII.
 */
export async function startHostCapture(scope: EscapeScope, filter: string): Promise<Capture> {
  const container = scope.name(`capture-${randomBytes(2).toString("hex")}`);
  await docker([
    ...runDetached(scope, container, "host"),
    "--cap-add",
    "NET_RAW",
    "--cap-add",
    "NET_ADMIN",
    CAPTURE_IMAGE,
    "tcpdump",
    "-i",
    "any",
    "-n",
    "-l",
    "-U",
    "-A",
    "-s",
    "0",
    filter,
  ]);
  await waitUntil("tcpdump to listen", async () => {
    const logs = await docker(["logs", container], { allowFailure: true });
    return logs.stderr.includes("listening on");
  });
  let stopped: Promise<string> | undefined;
  const stop = async () => {
    // Packets still in flight are written within a moment of arriving (-U).
    await new Promise((r) => setTimeout(r, 1000));
    await docker(["stop", "-t", "2", container], { allowFailure: true });
    const logs = await run("docker", ["logs", container], { maxBuffer: 64 * 1024 * 1024 });
    await docker(["rm", "-f", container], { allowFailure: true });
    return logs.stdout;
  };
  return {
    stop() {
      stopped ??= stop();
      return stopped;
    },
  };
}

/**
 * The summary lines (time, interface, addresses) of the captured packets whose text holds
 * any of `needles`, each with the needles it holds.
 */
export function packetsContaining(captured: string, needles: readonly string[]): string[] {
  const packets = captured.split(/\n(?=\d\d:\d\d:\d\d\.\d+ )/);
  return packets.flatMap((packet) => {
    const found = needles.filter((n) => packet.includes(n));
    if (found.length === 0) return [];
    const summary = (packet.split("\n")[0] ?? "").slice(0, 160);
    return [`${summary} [${found.join(", ")}]`];
  });
}

/**
 * An IPv6 network of the run's own, on a random unique-local /64 (on the swarm, an overlay
 * made on the manager, which a stand-in service can join).
 */
export async function createIpv6Network(scope: EscapeScope): Promise<string> {
  const name = scope.name("v6");
  const prefix = `fd7e:${randomBytes(2).toString("hex")}:${randomBytes(2).toString("hex")}`;
  const args = ["network", "create", ...scope.labels(), "--ipv6", "--subnet", `${prefix}::/64`];
  if (ON_SWARM) {
    // An overlay whose first subnet is IPv6 rejects every task ("invalid address …: It does
    // not belong to any of this network's subnets", Engine 26.1): an IPv4 subnet goes first.
    const v4 = `10.250.${randomBytes(1)[0]}.0/24`;
    await testSwarm().docker([
      "network",
      "create",
      ...scope.labels(),
      "--ipv6",
      "--subnet",
      v4,
      "--subnet",
      `${prefix}::/64`,
      "--driver",
      "overlay",
      name,
    ]);
  } else await docker([...args, name]);
  return name;
}

export interface HostListener {
  /** One port for TCP (IPv4 and IPv6) and UDP alike. */
  port: number;
  /** Remote addresses of every TCP connection and UDP datagram that arrived since the last call. */
  arrivals(): string[];
  close(): Promise<void>;
}

/**
 * A TCP and UDP listener on every address of the host (0.0.0.0 and ::), recording whoever
 * reaches it: a bottle leak to the host would connect here.
 */
export async function listenOnHost(): Promise<HostListener> {
  const arrivals: string[] = [];
  const sockets = new Set<Socket>();
  const tcp: Server = createServer((socket) => {
    arrivals.push(`tcp ${socket.remoteAddress}`);
    sockets.add(socket);
    socket.on("error", () => socket.destroy());
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen({ port: 0, host: "::", ipv6Only: false }, () => resolve());
  });
  const port = (tcp.address() as { port: number }).port;
  const udp: UdpSocket = createSocket({ type: "udp6", ipv6Only: false });
  udp.on("message", (_msg, from) => arrivals.push(`udp ${from.address}`));
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(port, "::", () => resolve());
  });
  return {
    port,
    arrivals: () => arrivals.splice(0),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}
