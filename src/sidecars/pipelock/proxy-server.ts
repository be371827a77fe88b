// The pipelock server: one listening HTTP server for forward requests and CONNECT, and one
// never-listening inner server that parses the HTTP inside accepted tunnels. Malformed input
// of any kind ends its own connection and nothing else.
import { once } from "node:events";
import * as http from "node:http";
import type { LookupFunction, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { SigningCa } from "../../shared/ca/index.js";
import { REFUSAL_HEADER } from "../../shared/refusal-text.js";
import type { AuditLog } from "./audit-log.js";
import { handleConnect } from "./connect-handler.js";
import { LeafContexts } from "./leaf-contexts.js";
import { gateRequest, gateUpgrade } from "./limits-gate.js";
import { NameBudget } from "./name-budget.js";
import type { Policy } from "./policy.js";
import { guardLookup } from "./private-address.js";
import type { ProxyContext } from "./proxy-context.js";
import { RateLimiter } from "./rate-limit.js";
import { serveRefusedTunnels } from "./refused-tunnel.js";
import { handleRequest } from "./request-handler.js";
import type { Tunnel } from "./target.js";
import { Upstream } from "./upstream.js";
import { handleUpgrade } from "./websocket-relay.js";

export interface ProxyServerOptions {
  policy: Policy;
  ca: SigningCa;
  audit: AuditLog;
  /** Defaults to 127.0.0.1 and an ephemeral port. */
  listen?: { host: string; port: number };
  /** Name resolution for upstream connections (tests map names to loopback). */
  lookup?: LookupFunction;
  /** PEM certificates trusted upstream in addition to the default roots. */
  upstreamCa?: string;
  now?: () => Date;
  /** The rate limit's clock, in milliseconds (tests); performance.now by default. */
  monotonicNow?: () => number;
}

export interface ProxyServer {
  readonly address: { host: string; port: number };
  readonly policy: Policy;
  /** Takes effect for the next request, including requests inside open tunnels. */
  setPolicy(policy: Policy): void;
  /** Hosts a certificate was minted for, to intercept their traffic. */
  mintedHosts(): readonly string[];
  /** Hosts a certificate was minted for, to tell their refusal inside the tunnel. */
  refusalHosts(): readonly string[];
  /** The bottle's counters: names used under each wildcard, requests and refusals per host. */
  limits: ProxyContext["limits"];
  close(): Promise<void>;
}

const SERVER_OPTIONS: http.ServerOptions = {
  // Node's defaults, spelled out: 16 KiB of headers, a minute to send them.
  maxHeaderSize: 16 * 1024,
  headersTimeout: 60_000,
  requestTimeout: 300_000,
  keepAliveTimeout: 30_000,
  // request-target refuses a missing Host itself, with an explanation and an audit line.
  requireHostHeader: false,
};

export async function startProxyServer(options: ProxyServerOptions): Promise<ProxyServer> {
  let policy = options.policy;
  const sockets = new Set<Duplex>();
  const upstream = new Upstream({
    lookup: guardLookup(() => policy.config.privateUpstreams === "allow", options.lookup),
    extraCa: options.upstreamCa,
  });
  const now = options.now ?? (() => new Date());
  const refusalLeaves = await LeafContexts.create(options.ca, now);
  const refusals = http.createServer(SERVER_OPTIONS);
  const ctx: ProxyContext = {
    policy: () => policy,
    audit: options.audit,
    upstream,
    leaves: await LeafContexts.create(options.ca, now),
    refusedTunnels: serveRefusedTunnels(
      { policy: () => policy, audit: options.audit, track: (s) => ctx.track(s) },
      refusals,
      refusalLeaves,
    ),
    tunnels: new WeakMap<Duplex, Tunnel>(),
    limits: { names: new NameBudget(), rates: new RateLimiter(options.monotonicNow) },
    track(socket) {
      if (sockets.has(socket)) return;
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    },
  };

  const { inner, outer } = proxyServers(ctx, refusals);

  const listen = options.listen ?? { host: "127.0.0.1", port: 0 };
  outer.listen(listen.port, listen.host);
  await once(outer, "listening");
  const bound = outer.address();
  const address =
    typeof bound === "object" && bound !== null
      ? { host: bound.address, port: bound.port }
      : { host: listen.host, port: listen.port };

  return {
    address,
    get policy() {
      return policy;
    },
    setPolicy(next) {
      policy = next;
    },
    mintedHosts: () => ctx.leaves.mintedHosts(),
    refusalHosts: () => refusalLeaves.mintedHosts(),
    limits: ctx.limits,
    async close() {
      const closed = new Promise<void>((resolve) => outer.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      inner.closeAllConnections();
      refusals.closeAllConnections();
      outer.closeAllConnections();
      upstream.destroy();
      await closed;
    },
  };
}

/**
 * The two servers: `outer` takes the agent's connections (CONNECT and plain requests);
 * `inner` reads the requests inside each tunnel pipelock terminates. Both pass every request
 * and upgrade through the gates first.
 */
function proxyServers(
  ctx: ProxyContext,
  refusals: http.Server,
): { inner: http.Server; outer: http.Server } {
  const inner = http.createServer(SERVER_OPTIONS);
  const outer = http.createServer(SERVER_OPTIONS);
  for (const server of [inner, outer]) {
    server.on("request", (req, res) => {
      if (!gateRequest(ctx, req, res)) handleRequest(ctx, req, res);
    });
    server.on("upgrade", (req, socket, head) => {
      if (!gateUpgrade(ctx, req, socket)) handleUpgrade(ctx, req, socket, head);
    });
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
      answerClientError(error, socket);
    });
  }
  refusals.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    answerClientError(error, socket);
  });
  outer.on("connection", (socket: Socket) => {
    ctx.track(socket);
    socket.on("error", () => socket.destroy());
  });
  outer.on("connect", (req, socket: Socket, head) => handleConnect(ctx, inner, req, socket, head));
  return { inner, outer };
}

/** 431 for oversized headers, 408 for slow ones, 400 for the rest; then the socket ends. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === "HPE_HEADER_OVERFLOW"
      ? 431
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? 408
        : 400;
  const text = `pipelock: ${status === 431 ? "request headers too large" : "malformed request"}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? "Request Header Fields Too Large" : status === 408 ? "Request Timeout" : "Bad Request"}\r\n` +
      `Content-Type: text/plain\r\nContent-Length: ${text.length}\r\n` +
      `${REFUSAL_HEADER}: ${text.trim()}\r\nConnection: close\r\n\r\n${text}`,
  );
  // A peer that never closes its side must not hold the socket.
  setTimeout(() => socket.destroy(), 2000).unref();
}
