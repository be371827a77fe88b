// Loopback stand-ins for egress's neighbours: an upstream API over HTTPS (and one over plain
// HTTP), and a fake pipelock that either tunnels CONNECTs or intercepts them with its own CA.
// Every fake maps whatever host it is asked for to its loopback port: names never resolve.
import { once } from "node:events";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import * as tls from "node:tls";
import * as zlib from "node:zlib";
import type { MintedCa } from "../../../src/shared/ca/index.js";
import { sniContexts } from "../tls/test-ca.js";

export interface Closable {
  close(): Promise<void>;
}

export interface SeenRequest {
  /** TLS SNI for HTTPS, the Host header for plain HTTP. */
  host: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** Relays an upstream answer to `res`; as pipelock does, an idle event stream's head is not held back. */
function relayTo(res: http.ServerResponse): (up: http.IncomingMessage) => void {
  return (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers).flushHeaders();
    up.pipe(res);
  };
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
}

export interface FakeUpstream extends Closable {
  port: number;
  seen: SeenRequest[];
  /** Lets GET /sse send its second event (GET /sse-idle its only one) and finish. */
  releaseSse(): void;
  sseFinished(): boolean;
}

function upstreamHandler(seen: SeenRequest[], sse: { release: () => void; finished: boolean }) {
  let released: Promise<void> = new Promise((resolve) => {
    sse.release = resolve;
  });
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const host = (req.socket as tls.TLSSocket).servername || req.headers.host || "";
    seen.push({ host, method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    if (req.url === "/count") {
      let bytes = 0;
      req.on("data", (c: Buffer) => {
        bytes += c.length;
      });
      req.on("end", () => res.end(String(bytes)));
      return;
    }
    req.resume();
    if (req.url?.includes("/echo")) {
      echo(req, res);
      return;
    }
    if (req.url === "/big") {
      // Chunked, in 64 KiB writes: 1 MiB of a repeating pattern.
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(64 * 1024, "0123456789abcdef");
      for (let i = 0; i < 16; i++) res.write(chunk);
      res.end();
      return;
    }
    if (req.url === "/sse-idle") {
      // The head now, the one event only once released: a stream with nothing to say yet.
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
      released.then(() => {
        res.end("data: at last\n\n");
        sse.finished = true;
        released = Promise.resolve();
      });
      return;
    }
    if (req.url === "/sse") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write("data: first\n\n");
      released.then(() => {
        res.end("data: second\n\n");
        sse.finished = true;
        released = Promise.resolve();
      });
      return;
    }
    const body = JSON.stringify({ ok: true, path: req.url });
    res.writeHead(200, { "content-type": "application/json", "x-upstream": "fake" });
    res.end(body);
  };
}

/**
 * A debug endpoint that hands the request's credential back: in headers (its own, a cookie, a
 * redirect), and in the body as `?as=` says: json (the default; gzip, deflate, br the same
 * JSON compressed; zstd a body egress cannot decode), b64 and hex (the credential encoded at
 * each alignment), split (chunked, the credential cut in two), sse (an event stream, the
 * credential cut across two writes, the second only after a pause), trailer (in a trailer).
 */
function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  const as = new URL(req.url ?? "/", "http://x").searchParams.get("as") ?? "json";
  const credential = req.headers.authorization ?? req.headers["x-api-key"] ?? "";
  const value = Array.isArray(credential) ? credential.join(",") : credential;
  const token = value.slice(value.indexOf(" ") + 1);
  const head: http.OutgoingHttpHeaders = {
    "x-echo-authorization": value,
    "set-cookie": [`seen=${token}; Path=/`],
    location: `/next?auth=${encodeURIComponent(value)}`,
  };
  const json = JSON.stringify({ headers: req.headers, token });
  const coded: Record<string, (b: Buffer) => Buffer> = {
    gzip: (b) => zlib.gzipSync(b),
    deflate: (b) => zlib.deflateSync(b),
    br: (b) => zlib.brotliCompressSync(b),
    zstd: (b) => b,
  };
  const code = coded[as];
  if (code !== undefined) {
    res.writeHead(200, { ...head, "content-type": "application/json", "content-encoding": as });
    res.end(code(Buffer.from(json)));
    return;
  }
  if (as === "b64" || as === "hex") {
    const forms = ["", "x", "xy"].map((pad) => {
      const bytes = Buffer.from(`${pad}${token}${pad}`);
      return as === "hex"
        ? bytes.toString("hex")
        : `${bytes.toString("base64")} ${bytes.toString("base64url")}`;
    });
    res.writeHead(200, { ...head, "content-type": "text/plain" });
    res.end(forms.join("\n"));
    return;
  }
  if (as === "trailer") {
    res.writeHead(200, { "content-type": "text/plain", trailer: "x-echo-trailer" });
    res.write("body\n");
    res.addTrailers({ "x-echo-trailer": value });
    res.end();
    return;
  }
  if (as === "split" || as === "sse") {
    const cut = Math.floor(token.length / 2);
    const [before, after] = as === "sse" ? ["data: ", "\n\n"] : ["token=", "\n"];
    res.writeHead(200, {
      ...head,
      "content-type": as === "sse" ? "text/event-stream" : "text/plain",
    });
    res.write(`${before}${token.slice(0, cut)}`);
    setTimeout(() => res.end(`${token.slice(cut)}${after}`), 100);
    return;
  }
  res.writeHead(200, { ...head, "content-type": "application/json" });
  res.end(json);
}

/** An HTTPS API that answers every name with a leaf from `ca`. */
export async function startHttpsUpstream(ca: MintedCa): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const sse = { release: () => {}, finished: false };
  const server = https.createServer({ SNICallback: sniContexts(ca) }, upstreamHandler(seen, sse));
  const close = closer(server, new Set());
  const port = await listen(server);
  return { port, seen, releaseSse: () => sse.release(), sseFinished: () => sse.finished, close };
}

export async function startHttpUpstream(): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const sse = { release: () => {}, finished: false };
  const server = http.createServer(upstreamHandler(seen, sse));
  const close = closer(server, new Set());
  const port = await listen(server);
  return { port, seen, releaseSse: () => sse.release(), sseFinished: () => sse.finished, close };
}

export interface FakePipelock extends Closable {
  port: number;
  /** CONNECT authorities, in order. */
  connects: string[];
  /** Requests pipelock read itself: forwarded http:// ones, and intercepted ones. */
  seen: SeenRequest[];
  /**
   * With resetIdleTunnelsMs: how many open tunnels have been idle long enough that the
   * client's next write resets them (the very comparison the reset makes), for a test to
   * wait on instead of sleeping past the bound.
   */
  idleTunnels(): number;
}

export interface FakePipelockOptions {
  httpsPort: number;
  httpPort?: number;
  /** Intercept CONNECTs with leaves from this CA, trusting `upstreamCa` onward. */
  intercept?: { ca: MintedCa; upstreamCa: MintedCa };
  /** CONNECT authorities answered 403, as pipelock answers a host outside its allowlist. */
  deny?: string[];
  /**
   * Tunnel mode: a tunnel idle this long is reset (TCP RST) when the client next writes, as
   * a proxy that dropped an idle keep-alive connection does.
   */
  resetIdleTunnelsMs?: number;
}

export async function startFakePipelock(options: FakePipelockOptions): Promise<FakePipelock> {
  const connects: string[] = [];
  /** Each open tunnel's last activity, while resetIdleTunnelsMs is set. */
  const activity = new Map<net.Socket, number>();
  const seen: SeenRequest[] = [];
  const forwardPlain = (req: http.IncomingMessage, res: http.ServerResponse) => {
    seen.push({
      host: req.headers.host ?? "",
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
    });
    const url = new URL(req.url ?? "/", "http://x");
    const out = http.request(
      {
        host: "127.0.0.1",
        port: options.httpPort,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers: req.headers,
      },
      relayTo(res),
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  };
  const server = http.createServer(forwardPlain);
  const inner = http.createServer((req, res) => {
    const host = (req.socket as tls.TLSSocket).servername || "";
    seen.push({ host, method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const out = https.request(
      {
        host: "127.0.0.1",
        port: options.httpsPort,
        servername: host,
        ca: options.intercept?.upstreamCa.certPem,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      relayTo(res),
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  const contexts = options.intercept ? sniContexts(options.intercept.ca) : undefined;
  server.on("connect", (req: http.IncomingMessage, socket: net.Socket) => {
    const authority = req.url ?? "";
    connects.push(authority);
    socket.on("error", () => socket.destroy());
    if (options.deny?.includes(authority)) {
      const body = `pipelock: ${authority} is not on the allowlist\n`;
      socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (contexts !== undefined) {
      const secure = new tls.TLSSocket(socket, { isServer: true, SNICallback: contexts });
      secure.on("error", () => secure.destroy());
      inner.emit("connection", secure);
      return;
    }
    const onward = net.connect({ host: "127.0.0.1", port: options.httpsPort });
    const idleMs = options.resetIdleTunnelsMs;
    if (idleMs !== undefined) {
      activity.set(socket, Date.now());
      socket.on("close", () => activity.delete(socket));
      // Registered before pipe(), so a reset chunk is never forwarded.
      socket.on("data", () => {
        if (Date.now() - (activity.get(socket) ?? 0) >= idleMs) {
          socket.resetAndDestroy();
          onward.destroy();
        }
        activity.set(socket, Date.now());
      });
      onward.on("data", () => {
        activity.set(socket, Date.now());
      });
    }
    onward.on("error", () => socket.destroy());
    socket.on("close", () => onward.destroy());
    onward.on("close", () => socket.destroy());
    socket.pipe(onward).pipe(socket);
  });
  const sockets = new Set<net.Socket>();
  const close = closer(server, sockets);
  const port = await listen(server);
  return {
    port,
    connects,
    seen,
    idleTunnels() {
      const idleMs = options.resetIdleTunnelsMs;
      if (idleMs === undefined) return 0;
      const now = Date.now();
      return [...activity.values()].filter((last) => now - last >= idleMs).length;
    },
    close: async () => {
      inner.closeAllConnections();
      await close();
    },
  };
}
