// A raw HTTP client for engine tests, run with node inside a bottle's agent container: it
// writes exactly the bytes a test gives it (through a CONNECT tunnel, with or without TLS and
// with any server name), so a test can send what curl will not: mismatched names, chunks cut
// mid-secret, garbage. Usage: `node agent-net-client.mjs <base64 of a JSON spec>`; prints one
// JSON result on stdout. Plain node, no dependencies: the agent image has nothing else.
//
// exchange spec: { mode: "exchange", proxy?: "host:port" (default $HTTPS_PROXY),
//   connect?: "host:port", tls?: { servername?: string, verifyHost?: boolean },
//   steps: [{ send: [{ data: base64, delayMs?: number }], raw?: true, quietMs?: number }
//     | { waitForFile: path }], timeoutMs?: number }
// Each send step reads one HTTP response, or with `raw` whatever bytes come back (WebSocket
// frames) until the peer is quiet or closes.
// result: { connect?: { status, head, body }, peer?: { subject, issuer, authorized, error },
//   responses: [{ status, head, body, closed? }], error?: string }
//
// flood spec: { mode: "flood", proxy?: "host:port", count, allowed: "host", tunnel: "host:port",
//   seed?, concurrency?, holdMs? } → { sent, answered, ms }: malformed inputs of many kinds,
//   each on its own connection, held at most holdMs.
import { existsSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";

const spec = JSON.parse(Buffer.from(process.argv[2] ?? "", "base64").toString("utf8"));

function proxyAddress(text) {
  const raw = text ?? process.env.HTTPS_PROXY ?? process.env.https_proxy;
  if (raw === undefined) throw new Error("no proxy given and HTTPS_PROXY is unset");
  const url = new URL(raw.includes("://") ? raw : `http://${raw}`);
  return { host: url.hostname, port: Number(url.port || 80) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Reads from a socket on demand: whole HTTP responses, or whatever arrives before it closes. */
class Reader {
  constructor(socket) {
    this.buffer = Buffer.alloc(0);
    this.closed = false;
    this.waiters = [];
    socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }
  wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  async until(test, deadline) {
    for (;;) {
      const done = test();
      if (done !== undefined) return done;
      if (this.closed || Date.now() > deadline) return undefined;
      await new Promise((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.max(0, deadline - Date.now())).unref();
      });
    }
  }
  /** Whatever arrives until the peer is quiet for `quietMs` after its first byte, or closes. */
  async raw(deadline, quietMs) {
    await this.until(() => (this.buffer.length > 0 ? true : undefined), deadline);
    let size = -1;
    while (size !== this.buffer.length && !this.closed && Date.now() < deadline) {
      size = this.buffer.length;
      await sleep(quietMs);
    }
    const body = this.buffer.toString("latin1");
    this.buffer = Buffer.alloc(0);
    return { status: 0, head: "", body, closed: this.closed };
  }
  /** One response; with `headOnly`, stops after the head (a CONNECT's 200). */
  async response(deadline, headOnly = false) {
    const end = await this.until(() => {
      const at = this.buffer.indexOf("\r\n\r\n");
      return at === -1 ? undefined : at;
    }, deadline);
    if (end === undefined) {
      const rest = this.buffer.toString("latin1");
      this.buffer = Buffer.alloc(0);
      return rest === "" ? undefined : { status: 0, head: rest, body: "" };
    }
    const head = this.buffer.subarray(0, end).toString("latin1");
    this.buffer = this.buffer.subarray(end + 4);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    let body = "";
    if ((headOnly && status === 200) || status === 101) return { status, head, body };
    if (length !== null) {
      const n = Number(length[1]);
      await this.until(() => (this.buffer.length >= n ? true : undefined), deadline);
      body = this.buffer.subarray(0, n).toString("latin1");
      this.buffer = this.buffer.subarray(n);
    } else if (chunked) {
      const framed = await this.until(() => dechunk(this.buffer), deadline);
      body = framed?.body ?? this.buffer.toString("latin1");
      this.buffer = this.buffer.subarray(framed?.end ?? this.buffer.length);
    } else {
      await this.until(() => undefined, deadline);
      body = this.buffer.toString("latin1");
      this.buffer = Buffer.alloc(0);
    }
    return { status, head, body };
  }
}

/** A complete chunked body at the start of `buffer`: its content and where it ends. */
function dechunk(buffer) {
  let body = "";
  let at = 0;
  for (;;) {
    const line = buffer.indexOf("\r\n", at);
    if (line === -1) return undefined;
    const size = Number.parseInt(buffer.subarray(at, line).toString("latin1"), 16);
    if (Number.isNaN(size)) return { body, end: buffer.length };
    if (size === 0) {
      const trailerEnd = buffer.indexOf("\r\n\r\n", line);
      return trailerEnd === -1 ? undefined : { body, end: trailerEnd + 4 };
    }
    if (buffer.length < line + 2 + size + 2) return undefined;
    body += buffer.subarray(line + 2, line + 2 + size).toString("latin1");
    at = line + 2 + size + 2;
  }
}

function openSocket(proxy) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy.port, proxy.host);
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

async function exchange() {
  const deadline = Date.now() + (spec.timeoutMs ?? 15_000);
  const result = { responses: [] };
  let socket = await openSocket(proxyAddress(spec.proxy));
  let reader = new Reader(socket);
  if (spec.connect !== undefined) {
    socket.write(`CONNECT ${spec.connect} HTTP/1.1\r\nHost: ${spec.connect}\r\n\r\n`);
    const answer = await reader.response(deadline, true);
    result.connect = answer ?? { status: 0, head: "", body: "" };
    if (result.connect.status !== 200) return result;
    if (spec.tls !== undefined) {
      const servername = spec.tls.servername ?? spec.connect.replace(/:\d+$/, "");
      const secure = tls.connect({
        socket,
        servername,
        ALPNProtocols: ["http/1.1"],
        ...(spec.tls.verifyHost === false ? { checkServerIdentity: () => undefined } : {}),
      });
      socket.removeAllListeners("data");
      await new Promise((resolve, reject) => {
        secure.once("secureConnect", resolve);
        secure.once("error", reject);
      });
      const cert = secure.getPeerCertificate();
      result.peer = {
        subject: cert.subject?.CN ?? null,
        issuer: cert.issuer?.CN ?? null,
        authorized: secure.authorized,
        error: secure.authorizationError ? String(secure.authorizationError) : null,
      };
      socket = secure;
      reader = new Reader(secure);
    }
  }
  for (const step of spec.steps ?? []) {
    if (step.waitForFile !== undefined) {
      while (!existsSync(step.waitForFile) && Date.now() < deadline) await sleep(50);
      continue;
    }
    for (const part of step.send) {
      if (part.delayMs) await sleep(part.delayMs);
      socket.write(Buffer.from(part.data, "base64"));
    }
    if (step.raw) {
      result.responses.push(await reader.raw(deadline, step.quietMs ?? 300));
      continue;
    }
    const answer = await reader.response(deadline);
    result.responses.push(answer ?? { status: 0, head: "", body: "" });
    if (answer === undefined) break;
  }
  socket.destroy();
  return result;
}

/** A small deterministic PRNG: the same inputs on every run. */
function prng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return {
    int: (n) => Math.floor(next() * n),
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}

/** `allowed` is an allowlisted host for forwarded requests, `tunnel` a host:port for CONNECT. */
function malformedInputs(count, allowed, tunnel, seed) {
  const r = prng(seed);
  const text = (s) => Buffer.from(s, "latin1");
  const valid = `POST http://${allowed}/p HTTP/1.1\r\nHost: ${allowed}\r\nContent-Length: 5\r\n\r\nhello`;
  const connect = `CONNECT ${tunnel} HTTP/1.1\r\nHost: ${tunnel}\r\n\r\n`;
  const makers = [
    // Random bytes.
    () => ({ parts: [r.bytes(1 + r.int(2000))], end: r.int(2) === 0 }),
    // A valid request with bytes flipped, cut anywhere.
    () => {
      const b = text(valid);
      for (let i = 0; i < 1 + r.int(8); i++) b[r.int(b.length)] = r.int(256);
      return { parts: [b.subarray(0, 1 + r.int(b.length))], end: r.int(2) === 0 };
    },
    // Headers past the size limit.
    () => ({
      parts: [text(`GET http://${allowed}/ HTTP/1.1\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`)],
      end: false,
    }),
    // Broken chunked framing.
    () => ({
      parts: [
        text(
          `POST http://${allowed}/ HTTP/1.1\r\nHost: ${allowed}\r\nTransfer-Encoding: chunked\r\n\r\n${["zz", "5\r\nabc", "-1", "ffffffffffffffff"][r.int(4)]}\r\n`,
        ),
      ],
      end: r.int(2) === 0,
    }),
    // An accepted tunnel, then garbage instead of TLS or HTTP.
    () => ({ parts: [text(connect), r.bytes(1 + r.int(600))], end: r.int(2) === 0 }),
    // A TLS record header, then garbage: a broken ClientHello.
    () => ({
      parts: [
        text(connect),
        Buffer.concat([
          Buffer.from([0x16, 0x03, 0x01, r.int(256), r.int(256)]),
          r.bytes(r.int(400)),
        ]),
      ],
      end: r.int(2) === 0,
    }),
    // Malformed request lines and authorities.
    () => ({
      parts: [
        text(
          [
            "CONNECT  HTTP/1.1\r\n\r\n",
            "CONNECT :0 HTTP/1.1\r\n\r\n",
            "CONNECT [::1 HTTP/1.1\r\n\r\n",
            "CONNECT allowed:99999 HTTP/1.1\r\n\r\n",
            "GET / HTTP/9.9\r\n\r\n",
            "\r\n\r\n\r\n",
            "GET http://[zz/ HTTP/1.1\r\n\r\n",
          ][r.int(7)],
        ),
      ],
      end: true,
    }),
    // A valid request cut short.
    () => ({ parts: [text(valid.slice(0, r.int(valid.length)))], end: true }),
    // A WebSocket upgrade followed by garbage frames.
    () => ({
      parts: [
        text(
          `GET http://${allowed}/ws HTTP/1.1\r\nHost: ${allowed}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
        r.bytes(r.int(300)),
      ],
      end: r.int(2) === 0,
    }),
  ];
  return Array.from({ length: count }, () => makers[r.int(makers.length)]());
}

function sendMalformed(proxy, input, holdMs) {
  return new Promise((resolve) => {
    let answered = false;
    const socket = net.connect(proxy.port, proxy.host);
    const timer = setTimeout(() => socket.destroy(), holdMs);
    socket.on("error", () => {});
    socket.on("data", () => {
      answered = true;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(answered);
    });
    for (const part of input.parts) socket.write(part);
    if (input.end) socket.end();
  });
}

async function flood() {
  const proxy = proxyAddress(spec.proxy);
  const inputs = malformedInputs(spec.count, spec.allowed, spec.tunnel, spec.seed ?? 42);
  const concurrency = spec.concurrency ?? 25;
  const started = Date.now();
  let answered = 0;
  for (let i = 0; i < inputs.length; i += concurrency) {
    const batch = inputs.slice(i, i + concurrency);
    const results = await Promise.all(
      batch.map((input) => sendMalformed(proxy, input, spec.holdMs ?? 200)),
    );
    answered += results.filter(Boolean).length;
  }
  return { sent: inputs.length, answered, ms: Date.now() - started };
}

const run = spec.mode === "flood" ? flood : exchange;
run().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error) => {
    process.stdout.write(`${JSON.stringify({ error: String(error?.message ?? error) })}\n`);
  },
);
