// Test fixture for pipelock's component tests: a bottle CA, an "internet" CA for fake upstreams,
// HTTPS/HTTP/WebSocket upstreams on loopback, a lookup that maps *.test to 127.0.0.1, and raw
// clients for what undici will not send. Everything listens on 127.0.0.1 only.
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import { type AddressInfo, connect, type LookupFunction, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import * as tls from "node:tls";
import { afterEach, beforeAll } from "vitest";
import { stringify } from "yaml";
import {
  type CaPem,
  loadCa,
  type MintedCa,
  mintCa,
  mintLeafCertificate,
} from "../../../src/shared/ca/index.js";
import { WsFrameReader } from "../../../src/shared/websocket-frames.js";
import { type AuditEvent, createAuditLog } from "../../../src/sidecars/pipelock/audit-log.js";
import {
  type PipelockConfigInput,
  PipelockConfigSchema,
} from "../../../src/sidecars/pipelock/config.js";
import { buildPolicy } from "../../../src/sidecars/pipelock/policy.js";
import { type ProxyServer, startProxyServer } from "../../../src/sidecars/pipelock/proxy-server.js";
import { type RunningPipelock, runPipelock } from "../../../src/sidecars/pipelock/run-pipelock.js";

export interface Cas {
  bottle: MintedCa;
  internet: MintedCa;
}

export async function mintTestCas(): Promise<Cas> {
  const now = new Date();
  const [bottle, internet] = await Promise.all([
    mintCa({ commonName: "pipelock test bottle", now }),
    mintCa({ commonName: "pipelock test internet", now }),
  ]);
  return { bottle, internet };
}

export interface PipelockTestScope {
  /** The test CAs, minted once per file: read them inside a test or a hook. */
  readonly cas: Cas;
  /** Runs `close` after the current test, whatever its outcome. */
  closeAfter(close: () => Promise<unknown>): void;
}

/**
 * The setup every pipelock component test file shares, registered as vitest hooks: CAs
 * minted once, and everything a test opened closed after it.
 */
export function usePipelockTestScope(): PipelockTestScope {
  let cas: Cas | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    cas = await mintTestCas();
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  return {
    get cas() {
      if (cas === undefined) throw new Error("the test CAs are minted in beforeAll");
      return cas;
    },
    closeAfter(close) {
      closers.push(close);
    },
  };
}

/** Resolves every *.test name to loopback, and nothing else. */
export const testLookup: LookupFunction = (hostname, options, callback) => {
  const cb = callback as (...args: unknown[]) => void;
  if (!hostname.endsWith(".test")) {
    const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      code: "ENOTFOUND",
    });
    cb(error);
    return;
  }
  if ((options as { all?: boolean }).all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
  else cb(null, "127.0.0.1", 4);
};

/**
 * One request the upstream received, entered as its head arrives and filled in as its body
 * comes: a body forwarded in part and then aborted is still here (complete false).
 */
export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The headers as sent, name and value alternating, a repeated header twice. */
  rawHeaders: string[];
  /** The body received so far, whole up to SEEN_BODY_BOUND bytes. */
  readonly body: string;
  bodyLength: number;
  /** true once the body ended; false while it arrives and after it broke off. */
  complete: boolean;
}

const SEEN_BODY_BOUND = 16 << 20;

export interface FakeUpstream {
  port: number;
  seen: SeenRequest[];
  /** Text of every WebSocket message received. */
  wsMessages: string[];
  close(): Promise<void>;
}

/** An HTTPS (or plain HTTP) echo server that also speaks enough WebSocket to echo messages. */
export async function startUpstream(cas: Cas, secure = true): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const wsMessages: string[] = [];
  const onRequest: http.RequestListener = (req, res) => {
    if (req.url === "/idle-stream") {
      // An event stream with nothing to say yet: its head only, until the client goes.
      res.writeHead(200, { "content-type": "text/event-stream" }).flushHeaders();
      req.socket.on("close", () => res.destroy());
      return;
    }
    const chunks: Buffer[] = [];
    const entry: SeenRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      get body() {
        return Buffer.concat(chunks).toString("utf8");
      },
      bodyLength: 0,
      complete: false,
    };
    seen.push(entry);
    req.on("data", (c: Buffer) => {
      if (entry.bodyLength < SEEN_BODY_BOUND) {
        chunks.push(c.subarray(0, SEEN_BODY_BOUND - entry.bodyLength));
      }
      entry.bodyLength += c.length;
    });
    req.on("end", () => {
      entry.complete = true;
      res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
      res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host }));
    });
  };
  const contexts = new Map<string, Promise<tls.SecureContext>>();
  const contextFor = (name: string) => {
    let context = contexts.get(name);
    if (context === undefined) {
      context = mintLeafCertificate(cas.internet, name, { now: new Date() }).then((leaf) =>
        tls.createSecureContext({ cert: leaf.chainPem, key: leaf.keyPem }),
      );
      contexts.set(name, context);
    }
    return context;
  };
  const server = secure
    ? https.createServer(
        {
          SNICallback: (name, done) => {
            contextFor(name).then((c) => done(null, c), done);
          },
        },
        onRequest,
      )
    : http.createServer(onRequest);
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("upgrade", (req, socket: Socket) => {
    const accept = createHash("sha1")
      .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const reader = new WsFrameReader(1 << 24);
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        if (frame.opcode === 1) {
          wsMessages.push(frame.payload.toString("utf8"));
          socket.write(wsFrame(frame.payload, false));
        }
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    wsMessages,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** One unfragmented text frame; masked as a client sends it, or not as a server does. */
export function wsFrame(payload: Buffer | string, masked: boolean, opcode = 1, fin = true): Buffer {
  const data = Buffer.from(payload);
  const lengthBytes = data.length < 126 ? 0 : data.length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] =
    (masked ? 0x80 : 0) | (lengthBytes === 0 ? data.length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(data.length, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(data.length), 2);
  if (!masked) return Buffer.concat([header, data]);
  const key = Buffer.from([1, 2, 3, 4]);
  key.copy(header, 2 + lengthBytes);
  const body = Buffer.from(data.map((b, i) => b ^ (key[i & 3] as number)));
  return Buffer.concat([header, body]);
}

export interface AuditSink {
  stream: Writable;
  events: AuditEvent[];
  raw: string[];
}

export function auditSink(): AuditSink {
  const events: AuditEvent[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line === "") continue;
        raw.push(line);
        events.push(JSON.parse(line) as AuditEvent);
      }
      done();
    },
  });
  return { stream, events, raw };
}

export interface StartedProxy {
  proxy: ProxyServer;
  audit: AuditSink;
  url: string;
}

export async function startTestProxy(
  cas: Cas,
  config: PipelockConfigInput,
  env: Record<string, string> = {},
): Promise<StartedProxy> {
  const audit = auditSink();
  const proxy = await startProxyServer({
    // The test upstreams listen on loopback: a private address, allowed unless a test says not.
    policy: buildPolicy(PipelockConfigSchema.parse({ privateUpstreams: "allow", ...config }), env),
    ca: await loadCa(cas.bottle),
    audit: createAuditLog({ stream: audit.stream }),
    lookup: testLookup,
    upstreamCa: cas.internet.certPem,
  });
  return { proxy, audit, url: `http://127.0.0.1:${proxy.address.port}` };
}

export interface FilePipelock {
  running: RunningPipelock;
  audit: AuditSink;
  configPath: string;
  writeConfig(config: PipelockConfigInput): Promise<void>;
  close(): Promise<void>;
}

/** pipelock as main.ts runs it, from files in a temporary directory. */
export async function startFilePipelock(
  cas: Cas,
  config: PipelockConfigInput,
): Promise<FilePipelock> {
  const dir = await mkdtemp(join(tmpdir(), "pipelock-test-"));
  const configPath = join(dir, "pipelock.yaml");
  const writeConfig = (c: PipelockConfigInput) =>
    writeFile(configPath, stringify({ privateUpstreams: "allow", ...c }));
  await writeConfig(config);
  await writeCa(dir, cas.bottle);
  const upstreamCaPath = join(dir, "upstream-ca.pem");
  await writeFile(upstreamCaPath, cas.internet.certPem);
  const audit = auditSink();
  const running = await runPipelock({
    configPath,
    listen: { host: "127.0.0.1", port: 0 },
    caCertPath: join(dir, "ca.pem"),
    caKeyPath: join(dir, "ca-key.pem"),
    env: { PIPELOCK_UPSTREAM_CA_FILE: upstreamCaPath },
    lookup: testLookup,
    auditStream: audit.stream,
    log: () => {},
  });
  return {
    running,
    audit,
    configPath,
    writeConfig,
    async close() {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function writeCa(dir: string, ca: CaPem): Promise<void> {
  await writeFile(join(dir, "ca.pem"), ca.certPem);
  await writeFile(join(dir, "ca-key.pem"), ca.keyPem);
}

/** Sends `text` on a fresh connection to the proxy and reads until it closes or goes quiet. */
export function rawExchange(port: number, text: string | Buffer, quietMs = 300): Promise<string> {
  const socket = connect(port, "127.0.0.1");
  const answer = readUntilQuiet(socket, quietMs);
  socket.write(text);
  return answer;
}

/** How long an answer may take to begin: a loaded machine is slow to answer, not silent. */
const FIRST_BYTE_MS = 10_000;

/**
 * Everything `socket` receives until it closes or, once the answer has begun, stays quiet for
 * `quietMs`, as latin1.
 */
export function readUntilQuiet(socket: Socket, quietMs: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let timer = setTimeout(() => socket.destroy(), Math.max(quietMs, FIRST_BYTE_MS));
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), quietMs);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
  });
}

/** Opens a CONNECT tunnel and TLS inside it; resolves with the TLS socket once it is up. */
export async function tlsTunnel(
  port: number,
  authority: string,
  options: { ca: string; servername?: string; checkName?: boolean },
): Promise<tls.TLSSocket> {
  const socket = connect(port, "127.0.0.1");
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const [first] = (await once(socket, "data")) as [Buffer];
  if (!first.toString("latin1").startsWith("HTTP/1.1 200")) {
    socket.destroy();
    throw new Error(`CONNECT refused: ${first.toString("latin1")}`);
  }
  const secure = tls.connect({
    socket,
    ca: options.ca,
    servername: options.servername ?? authority.replace(/:\d+$/, ""),
    ...(options.checkName === false ? { checkServerIdentity: () => undefined } : {}),
  });
  await once(secure, "secureConnect");
  return secure;
}

/** Writes one HTTP/1.1 request on an open socket and reads one response (by Content-Length). */
export async function exchangeOn(
  socket: tls.TLSSocket | Socket,
  request: string,
): Promise<{ status: number; head: string; body: string }> {
  socket.write(request);
  let data = "";
  for (;;) {
    const [chunk] = (await once(socket, "data")) as [Buffer];
    data += chunk.toString("latin1");
    const end = data.indexOf("\r\n\r\n");
    if (end === -1) continue;
    const head = data.slice(0, end);
    const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (data.length - end - 4 < length) continue;
    return {
      status: Number(head.split(" ")[1]),
      head,
      body: data.slice(end + 4, end + 4 + length),
    };
  }
}
