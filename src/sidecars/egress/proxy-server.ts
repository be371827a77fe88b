// The agent-facing proxy: one HTTP server for CONNECT (connect-handler), absolute-form
// http:// requests and egress's own endpoints (request-handler); the requests inside an
// intercepted route host's tunnel are the interceptor's (intercept). Nothing here may throw
// out of an event handler: a bad client costs its own connection, never the process.
import * as http from "node:http";
import type * as net from "node:net";
import { EGRESS_HOSTNAME } from "../../contracts/egress.js";
import { createLeafKey, type SigningCa } from "../../shared/ca/index.js";
import { handleConnect } from "./connect-handler.js";
import { answerOnSocket, type EgressContext } from "./egress-context.js";
import { Interceptor } from "./intercept.js";
import { answerUnparsable, sendErrorPage } from "./relay.js";
import { handleRequest, refuseUpgrade } from "./request-handler.js";
import type { RequestLogEntry } from "./request-log.js";
import { ResponseGuard } from "./response-guard.js";
import { normalizeHost } from "./route-match.js";
import { errorText, type ResolvedRoute } from "./routes-config.js";
import { routeSecrets, tokenForms } from "./token-scrub.js";
import { ForwardAgent, TunnelAgent, type UpstreamOptions } from "./upstream.js";

export interface EgressServerOptions {
  routes: readonly ResolvedRoute[];
  ca: SigningCa;
  upstream: UpstreamOptions;
  /** PEM roots for the TLS leg to route hosts: the system roots plus pipelock's CA. */
  upstreamCa: string[];
  log: (entry: RequestLogEntry) => void;
  redact: (text: string) => string;
  now: () => Date;
  /** Hostnames that mean egress itself in absolute-form requests to /__egress/. */
  selfNames?: readonly string[];
}

export interface EgressServer {
  server: http.Server;
  hasLeafFor(host: string): boolean;
  close(): Promise<void>;
}

export async function createEgressServer(options: EgressServerOptions): Promise<EgressServer> {
  const { routes, redact, log } = options;
  const scrub = tokenForms(routeSecrets(routes));
  const guard = new ResponseGuard(routeSecrets(routes));
  const tunnelAgent = new TunnelAgent({ ...options.upstream, ca: options.upstreamCa });
  const sockets = new Set<net.Socket>();
  const ctx: EgressContext = {
    routes,
    scrub,
    guard,
    upstream: options.upstream,
    forwardAgent: new ForwardAgent(options.upstream),
    interceptor: new Interceptor({
      routes,
      ca: options.ca,
      leafKey: await createLeafKey(),
      agent: tunnelAgent,
      now: options.now,
      log,
      redact,
      scrub,
      guard,
    }),
    selfNames: new Set(
      [EGRESS_HOSTNAME, "localhost", "127.0.0.1", "::1", ...(options.selfNames ?? [])].map(
        normalizeHost,
      ),
    ),
    log,
    redact,
    track(socket) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    },
  };

  const server = http.createServer((req, res) => {
    try {
      handleRequest(ctx, req, res);
    } catch (error) {
      sendErrorPage(res, 500, `egress failed on this request: ${errorText(error)}`, redact);
    }
  });
  server.on("connection", ctx.track);
  server.on("clientError", (error: NodeJS.ErrnoException, socket: net.Socket) => {
    answerUnparsable(error, socket, { log, host: "" });
  });
  server.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    handleConnect(ctx, req, socket, head).catch((error: unknown) => {
      answerOnSocket(ctx, socket, {
        status: 502,
        reason: "Bad Gateway",
        message: `egress failed on this CONNECT: ${errorText(error)}`,
      });
    });
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
    socket.on("error", () => socket.destroy());
    refuseUpgrade(ctx, req, socket);
  });

  return {
    server,
    hasLeafFor: (host) => ctx.interceptor.hasLeafFor(host),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        ctx.interceptor.close();
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        tunnelAgent.destroy();
        ctx.forwardAgent.destroy();
      }),
  };
}
