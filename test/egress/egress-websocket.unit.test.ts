// WebSocket upgrades to a route host, through an in-process egress and a tunnelling fake
// pipelock to a loopback WebSocket upstream that echoes the token it was given in every
// kind of frame.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import * as tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { type WsFrame, WsFrameReader } from "../../src/shared/websocket-frames.js";
import { placeholderOf } from "../../src/sidecars/egress/token-scrub.js";
import { encodeFrame } from "../../src/sidecars/egress/websocket.js";
import { encodedForms } from "../support/fixtures/encoded-forms.js";
import { type Closable, startFakePipelock } from "../support/sidecars/egress-fakes.js";
import {
  closeAll,
  ROUTES_YAML,
  startTestEgress,
  type TestEgress,
  TOKENS,
  useEgressBench,
} from "../support/sidecars/egress-harness.js";
import { sniContexts } from "../support/tls/test-ca.js";

const bench = useEgressBench();
const cleanup: Closable[] = [];
afterEach(() => closeAll(cleanup));

const TOKEN = TOKENS.EGRESS_TOKEN_0;
const PLACEHOLDER = placeholderOf(TOKEN.length);
const GUID = "258EAFA5-E914-47C5-95CA-C5AB0DC85B11";

interface WsUpstream extends Closable {
  port: number;
  upgrades: http.IncomingHttpHeaders[];
  /** Payloads of the frames the client sent, unmasked. */
  received: WsFrame[];
}

function accept(key: string): string {
  return createHash("sha1").update(`${key}${GUID}`).digest("base64");
}

const SWITCH = (req: http.IncomingMessage, extra = "") =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(String(req.headers["sec-websocket-key"]))}\r\nX-Seen: ${req.headers.authorization}\r\n${extra}\r\n`;

/** What the upstream sends for each path, after answering the upgrade. */
function script(req: http.IncomingMessage, socket: Socket, received: WsFrame[]): void {
  const seen = String(req.headers.authorization);
  const text = (s: string, fin = true, opcode = 1) => encodeFrame(fin, opcode, Buffer.from(s));
  switch (req.url) {
    case "/v1/ws/frames": {
      socket.write(SWITCH(req));
      const close = Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from(`bye ${TOKEN}`)]);
      // Each write separate, and the fragmented message cut inside the token, with a ping
      // between its fragments.
      const frames = [
        text(JSON.stringify({ token: TOKEN, seen })),
        encodeFrame(true, 2, Buffer.from(`bin:${TOKEN}:${Buffer.from(TOKEN).toString("base64")}`)),
        text(`split:${TOKEN.slice(0, 7)}`, false),
        encodeFrame(true, 9, Buffer.from(TOKEN)),
        text(TOKEN.slice(7, 15), false, 0),
        text(`${TOKEN.slice(15)}!`, true, 0),
        encodeFrame(true, 10, Buffer.from(`pong ${TOKEN}`)),
        encodeFrame(true, 8, close),
      ];
      let i = 0;
      const next = () => {
        const frame = frames[i++];
        if (frame === undefined) {
          socket.end();
          return;
        }
        socket.write(frame, () => setImmediate(next));
      };
      next();
      return;
    }
    case "/v1/ws/echo": {
      socket.write(SWITCH(req));
      const reader = new WsFrameReader(1 << 20);
      socket.on("data", (chunk: Buffer) => {
        for (const frame of reader.push(chunk)) {
          received.push(frame);
          if (frame.opcode === 1) {
            socket.write(text(`you said ${frame.payload.toString()} with ${seen}`));
          }
          if (frame.opcode === 8) socket.end(encodeFrame(true, 8, frame.payload));
        }
      });
      return;
    }
    case "/v1/ws/bad-opcode":
      socket.write(SWITCH(req));
      socket.write(Buffer.from([0x83, 0x00]));
      return;
    case "/v1/ws/rsv":
      socket.write(SWITCH(req));
      socket.write(Buffer.from([0xc1, 0x02, 0x68, 0x69]));
      return;
    case "/v1/ws/masked":
      socket.write(SWITCH(req));
      socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69]));
      return;
    case "/v1/ws/stray-continuation":
      socket.write(SWITCH(req));
      socket.write(text("hi", true, 0));
      return;
    case "/v1/ws/extension":
      socket.write(SWITCH(req, "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
      socket.write(text("never read"));
      return;
    default: {
      const body = `no WebSocket here for ${seen}\n`;
      socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nx-seen: ${seen}\r\n\r\n${body}`,
      );
    }
  }
}

async function startWsUpstream(): Promise<WsUpstream> {
  const upgrades: http.IncomingHttpHeaders[] = [];
  const received: WsFrame[] = [];
  const server = https.createServer({ SNICallback: sniContexts(bench.cas.upstream) }, (_q, r) => {
    r.writeHead(426).end();
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Socket) => {
    socket.on("error", () => socket.destroy());
    upgrades.push(req.headers);
    script(req, socket, received);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    upgrades,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function startWsScenario(): Promise<{ upstream: WsUpstream; egress: TestEgress }> {
  const upstream = await startWsUpstream();
  cleanup.push(upstream);
  const pipelock = await startFakePipelock({ httpsPort: upstream.port });
  cleanup.push(pipelock);
  const egress = await startTestEgress({
    routesYaml: ROUTES_YAML,
    env: TOKENS,
    egressCa: bench.cas.egress,
    pipelockPort: pipelock.port,
    upstreamCaPem: bench.cas.upstream.certPem,
  });
  cleanup.push(egress);
  return { upstream, egress };
}

interface Session {
  /** The response head as the agent got it. */
  head: string;
  frames: WsFrame[];
  /** Every byte the agent received after its TLS, head included. */
  raw: Buffer;
}

function masked(opcode: number, payload: Buffer): Buffer {
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ (key[i & 3] as number)));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), key, body]);
}

/** An agent's WebSocket to api.example.test through egress: CONNECT, TLS, upgrade, frames. */
function wsSession(
  egressPort: number,
  path: string,
  options: { upgrade?: string; send?: Buffer[]; headers?: string } = {},
): Promise<Session> {
  return new Promise((resolve, reject) => {
    const connect = http.request({
      host: "127.0.0.1",
      port: egressPort,
      method: "CONNECT",
      path: "api.example.test:443",
      agent: false,
    });
    connect.on("error", reject);
    connect.on("connect", (res: http.IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        reject(new Error(`CONNECT answered ${res.statusCode}`));
        return;
      }
      const secure = tls.connect({
        socket,
        servername: "api.example.test",
        ca: bench.cas.egress.certPem,
      });
      const chunks: Buffer[] = [];
      const reader = new WsFrameReader(1 << 20);
      const frames: WsFrame[] = [];
      let head: string | undefined;
      let sent = false;
      secure.on("error", reject);
      secure.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        let rest = chunk;
        if (head === undefined) {
          const all = Buffer.concat(chunks);
          const end = all.indexOf("\r\n\r\n");
          if (end === -1) return;
          head = all.subarray(0, end).toString("latin1");
          rest = all.subarray(end + 4);
          if (!head.startsWith("HTTP/1.1 101")) return;
        }
        if (!head.startsWith("HTTP/1.1 101")) return;
        if (!sent) {
          sent = true;
          for (const frame of options.send ?? []) secure.write(frame);
        }
        frames.push(...reader.push(rest));
      });
      secure.on("close", () => resolve({ head: head ?? "", frames, raw: Buffer.concat(chunks) }));
      secure.write(
        `GET ${path} HTTP/1.1\r\nHost: api.example.test\r\nUpgrade: ${options.upgrade ?? "websocket"}\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nAuthorization: Bearer agent-placeholder\r\n${options.headers ?? ""}\r\n`,
      );
    });
    connect.end();
  });
}

function expectNoToken(raw: Buffer) {
  const text = raw.toString("latin1");
  for (const form of encodedForms(TOKEN)) expect(text).not.toContain(form);
}

function lastLog(egress: TestEgress): Record<string, unknown> {
  return JSON.parse(egress.logs.at(-1) ?? "{}");
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe("a WebSocket upgrade to a route host", () => {
  it("reaches the upstream with the route's token, never the agent's credential or a compression offer", async () => {
    const { upstream, egress } = await startWsScenario();
    const session = await wsSession(egress.port, "/v1/ws/frames");
    expect(session.head).toMatch(/^HTTP\/1\.1 101 /);
    expect(upstream.upgrades).toHaveLength(1);
    const seen = upstream.upgrades[0] ?? {};
    expect(seen.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seen.upgrade).toBe("websocket");
    expect(seen["sec-websocket-extensions"]).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain("agent-placeholder");
    // The 101's own headers are scrubbed too.
    expect(session.head).toContain(`X-Seen: Bearer ${PLACEHOLDER}`);
    await waitFor(() => egress.logs.length > 0);
    expect(lastLog(egress)).toMatchObject({
      kind: "intercept",
      routed: true,
      host: "api.example.test",
      method: "GET",
      status: 101,
    });
  });

  it("scrubs the token from text, binary, fragmented, ping, pong and close frames", async () => {
    const { egress } = await startWsScenario();
    const session = await wsSession(egress.port, "/v1/ws/frames");
    expectNoToken(session.raw);
    const kinds = session.frames.map((f) => [f.opcode, f.fin]);
    expect(kinds[0]).toEqual([1, true]);
    expect(kinds[1]).toEqual([2, true]);
    expect(session.frames.every((f) => !f.masked && f.rsv === 0)).toBe(true);
    expect(JSON.parse(session.frames[0]?.payload.toString() ?? "")).toEqual({
      token: PLACEHOLDER,
      seen: `Bearer ${PLACEHOLDER}`,
    });
    expect(session.frames[1]?.payload.toString()).toBe(
      `bin:${PLACEHOLDER}:${Buffer.from(PLACEHOLDER).toString("base64")}`,
    );
    // The fragmented message, reassembled, has the placeholder where the token was cut.
    const data = session.frames.filter((f) => f.opcode < 8).slice(2);
    expect(data.map((f) => f.opcode)).toEqual([1, 0, 0]);
    expect(data.map((f) => f.fin)).toEqual([false, false, true]);
    expect(Buffer.concat(data.map((f) => f.payload)).toString()).toBe(`split:${PLACEHOLDER}!`);
    const control = session.frames.filter((f) => f.opcode >= 8);
    expect(control.map((f) => f.opcode)).toEqual([9, 10, 8]);
    expect(control[0]?.payload.toString()).toBe(PLACEHOLDER);
    expect(control[1]?.payload.toString()).toBe(`pong ${PLACEHOLDER}`);
    expect(control[2]?.payload.readUInt16BE(0)).toBe(1000);
    expect(control[2]?.payload.subarray(2).toString()).toBe(`bye ${PLACEHOLDER}`);
  });

  it("relays the agent's frames to the upstream and scrubs what it says back", async () => {
    const { upstream, egress } = await startWsScenario();
    const session = await wsSession(egress.port, "/v1/ws/echo", {
      send: [masked(1, Buffer.from("hello")), masked(8, Buffer.from([0x03, 0xe8]))],
    });
    expect(upstream.received.map((f) => [f.opcode, f.payload.toString("latin1")])).toEqual([
      [1, "hello"],
      [8, "\x03\xe8"],
    ]);
    expect(session.frames[0]?.payload.toString()).toBe(`you said hello with Bearer ${PLACEHOLDER}`);
    expect(session.frames[1]?.opcode).toBe(8);
    expectNoToken(session.raw);
  });

  it.each([
    ["/v1/ws/bad-opcode", "unknown opcode 3"],
    ["/v1/ws/rsv", "RSV bit"],
    ["/v1/ws/masked", "masked frame"],
    ["/v1/ws/stray-continuation", "continuation frame outside a message"],
  ])("closes the connection on a frame it cannot read (%s)", async (path, why) => {
    const { egress } = await startWsScenario();
    const session = await wsSession(egress.port, path);
    expect(session.head).toMatch(/^HTTP\/1\.1 101 /);
    // Nothing of the bad frame is relayed: the only frame is egress's own close, 1002.
    expect(session.frames).toHaveLength(1);
    expect(session.frames[0]?.opcode).toBe(8);
    expect(session.frames[0]?.payload.readUInt16BE(0)).toBe(1002);
    await waitFor(() => egress.logs.length > 0);
    expect(lastLog(egress)).toMatchObject({ kind: "intercept", status: 101 });
    expect(String(lastLog(egress).error)).toContain(why);
  });

  it("refuses an answer that negotiated an extension it did not offer", async () => {
    const { egress } = await startWsScenario();
    const session = await wsSession(egress.port, "/v1/ws/extension");
    expect(session.head).toMatch(/^HTTP\/1\.1 502 /);
    expect(session.raw.toString()).toContain("accepted a WebSocket extension egress did not offer");
    expect(session.raw.toString()).not.toContain("never read");
    expect(session.frames).toEqual([]);
  });

  it("passes on a declined upgrade's answer, scrubbed", async () => {
    const { egress } = await startWsScenario();
    const session = await wsSession(egress.port, "/v1/ws/nothing");
    expect(session.head).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(session.head).toContain(`x-seen: Bearer ${PLACEHOLDER}`);
    expect(session.raw.toString()).toContain(`no WebSocket here for Bearer ${PLACEHOLDER}\n`);
    expectNoToken(session.raw);
  });

  it("refuses an upgrade to any other protocol, sending nothing upstream", async () => {
    const { upstream, egress } = await startWsScenario();
    const session = await wsSession(egress.port, "/v1/ws/frames", { upgrade: "h2c" });
    expect(session.head).toMatch(/^HTTP\/1\.1 501 /);
    expect(session.raw.toString()).toContain("egress relays only WebSocket upgrades");
    expect(upstream.upgrades).toEqual([]);
    expect(lastLog(egress)).toMatchObject({ kind: "refused", status: 501 });
  });

  it("applies the same Host checks as to any request in the tunnel", async () => {
    const { upstream, egress } = await startWsScenario();
    const session = await wsSession(egress.port, "/v1/ws/frames", {
      headers: "Host: other.example.test\r\n",
    });
    expect(session.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(upstream.upgrades).toEqual([]);
  });
});
