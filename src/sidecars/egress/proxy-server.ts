// The agent-facing proxy: CONNECT and absolute-form http:// requests, plus egress's own
// endpoints. CONNECTs to a route host on 443 are intercepted; everything else goes to
// pipelock as the agent sent it, so pipelock's policy applies to it unchanged. Nothing here
// may throw out of an event handler: a bad client costs its own connection, never the process.
import * as http from "node:http";
import type * as net from "node:net";
import type * as tls from "node:tls";
import { createLeafKey, type SigningCa } from "../../shared/ca/index.js";
import { hostHeaderProblem, parseAuthority } from "./authority.js";
import { EGRESS_HOSTNAME, EGRESS_LOCAL_PREFIX } from "./constants.js";
import { Interceptor } from "./intercept.js";
import { answerLocalEndpoint } from "./local-endpoints.js";
import { upstreamRequestHeaders } from "./proxy-headers.js";
import { rawErrorResponse, relayExchange, sendErrorPage } from "./relay.js";
import type { RequestLogEntry } from "./request-log.js";
import { isRouteHost, normalizeHost, pathWithoutQuery } from "./route-match.js";
import { errorText, type ResolvedRoute } from "./routes-config.js";
import { routeSecrets, tokenForms } from "./token-scrub.js";
import { ForwardAgent, openTunnel, TunnelAgent, type UpstreamOptions } from "./upstream.js";

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
  const agent = new TunnelAgent({ ...options.upstream, ca: options.upstreamCa });
  const forwardAgent = new ForwardAgent(options.upstream);
  const interceptor = new Interceptor({
    routes,
    ca: options.ca,
    leafKey: await createLeafKey(),
    agent,
    now: options.now,
    log,
    redact,
    scrub,
  });
  const selfNames = new Set(
    [EGRESS_HOSTNAME, "localhost", "127.0.0.1", "::1", ...(options.selfNames ?? [])].map(
      normalizeHost,
    ),
  );
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };

  const server = http.createServer((req, res) => {
    try {
      onRequest(req, res);
    } catch (error) {
      sendErrorPage(res, 500, `egress failed on this request: ${errorText(error)}`, redact);
    }
  });
  server.on("connection", track);
  server.on("clientError", (error: NodeJS.ErrnoException, socket: net.Socket) => {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason] =
      error.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large"]
        : [400, "Bad Request"];
    log({
      kind: "refused",
      routed: false,
      host: "",
      method: "",
      path: null,
      status,
      error: `unparsable request (${error.code ?? "parse error"})`,
    });
    socket.end(rawErrorResponse(status, reason, "egress could not parse this request"));
  });
  server.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    onConnect(req, socket, head).catch((error: unknown) => {
      answerRaw(socket, 502, "Bad Gateway", `egress failed on this CONNECT: ${errorText(error)}`);
    });
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
    socket.on("error", () => socket.destroy());
    refuseLog(req.url ?? "", req.method ?? "", 501, "protocol upgrade through the plain proxy");
    answerRaw(
      socket,
      501,
      "Not Implemented",
      "egress does not relay protocol upgrades over plain http://",
    );
  });

  function answerRaw(socket: net.Socket, status: number, reason: string, message: string) {
    if (socket.writable) socket.end(rawErrorResponse(status, reason, redact(message)));
    else socket.destroy();
  }

  /** Logs a request egress answered itself; the host and path when the target has them. */
  function refuseLog(target: string, method: string, status: number, error: string) {
    let host = "";
    let path: string | null = pathWithoutQuery(target);
    try {
      const url = new URL(target);
      host = normalizeHost(url.hostname);
      path = url.pathname;
    } catch {
      // Not absolute-form: the target without its query is all there is.
    }
    log({ kind: "refused", routed: false, host, method, path, status, error });
  }

  async function onConnect(req: http.IncomingMessage, socket: net.Socket, head: Buffer) {
    const authority = req.url ?? "";
    const parsed = parseAuthority(authority);
    if (parsed?.port === undefined) {
      log({
        kind: "refused",
        routed: false,
        host: "",
        method: "CONNECT",
        path: null,
        status: 400,
        error: "malformed CONNECT target",
      });
      answerRaw(socket, 400, "Bad Request", "egress expects CONNECT host:port");
      return;
    }
    const { host, port } = parsed;
    if (port === 443 && isRouteHost(routes, host)) {
      let context: tls.SecureContext;
      try {
        context = await interceptor.prepare(host);
      } catch (error) {
        const message = `egress could not make a certificate for ${host}: ${errorText(error)}`;
        log({
          kind: "refused",
          routed: false,
          host,
          method: "CONNECT",
          path: null,
          status: 502,
          error: message,
        });
        answerRaw(socket, 502, "Bad Gateway", message);
        return;
      }
      if (socket.destroyed) return;
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) socket.unshift(head);
      interceptor.accept(socket, { host, port }, context);
      return;
    }
    await relayTunnel(authority, host, socket, head);
  }

  /** A CONNECT egress does not intercept: pipelock's answer and then the bytes, untouched. */
  async function relayTunnel(authority: string, host: string, socket: net.Socket, head: Buffer) {
    let tunnel: Awaited<ReturnType<typeof openTunnel>>;
    try {
      tunnel = await openTunnel(options.upstream, authority);
    } catch (error) {
      const message = errorText(error);
      log({
        kind: "tunnel",
        routed: false,
        host,
        method: "CONNECT",
        path: null,
        status: 502,
        error: message,
      });
      answerRaw(
        socket,
        502,
        "Bad Gateway",
        `egress could not open a tunnel through pipelock: ${message}`,
      );
      return;
    }
    const upstream = tunnel.socket;
    track(upstream);
    log({
      kind: "tunnel",
      routed: false,
      host,
      method: "CONNECT",
      path: null,
      status: tunnel.statusCode,
    });
    // A reset from pipelock (it may close a tunnel with bytes in flight) must not throw away
    // the answer already queued for the agent: 'close' follows every 'error' and ends the
    // agent's side gracefully, so nothing is destroyed here.
    upstream.on("error", () => {});
    // Ending (not destroying) lets bytes still queued for the agent go out first.
    upstream.on("close", () => socket.end(() => socket.destroy()));
    socket.on("close", () => upstream.destroy());
    if (socket.destroyed) {
      upstream.destroy();
      return;
    }
    socket.write(Buffer.concat([tunnel.head, tunnel.rest]));
    const established = tunnel.statusCode >= 200 && tunnel.statusCode <= 299;
    if (established && head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    // A refused CONNECT ends with pipelock's page; the agent's bytes have nowhere to go.
    if (established) socket.pipe(upstream);
    upstream.resume();
  }

  function onRequest(req: http.IncomingMessage, res: http.ServerResponse) {
    const target = req.url ?? "";
    const method = req.method ?? "GET";
    if (target.startsWith("/")) {
      if (target.startsWith(EGRESS_LOCAL_PREFIX)) {
        answerLocalEndpoint({ req, res, path: pathWithoutQuery(target), routes, redact, log });
        return;
      }
      refuse(400, "egress is a proxy: send absolute-form http:// requests or CONNECT host:port");
      return;
    }
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      refuse(400, "egress could not parse the request target");
      return;
    }
    if (url.protocol !== "http:") {
      refuse(400, `egress forwards only http:// URLs; use CONNECT for ${url.protocol}//`);
      return;
    }
    // The target's authority read strictly, and read the same by WHATWG's parser: pipelock
    // and the server behind it must not be able to see two different hosts in it.
    const rawAuthority = /^http:\/\/([^/?#]*)/i.exec(target)?.[1];
    const authority = rawAuthority === undefined ? undefined : parseAuthority(rawAuthority);
    const port = url.port === "" ? 80 : Number(url.port);
    if (
      authority === undefined ||
      authority.host !== normalizeHost(url.hostname) ||
      (authority.port ?? 80) !== port
    ) {
      refuse(
        400,
        "egress forwards only http://host[:port]/path targets (a name or [IPv6 address], no user info, a port from 1 to 65535 if any)",
      );
      return;
    }
    if (
      selfNames.has(normalizeHost(url.hostname)) &&
      url.pathname.startsWith(EGRESS_LOCAL_PREFIX)
    ) {
      answerLocalEndpoint({ req, res, path: url.pathname, routes, redact, log });
      return;
    }
    // pipelock checks the target; the server behind it may route on Host: they must agree.
    const hostProblem = hostHeaderProblem(req.rawHeaders, {
      host: authority.host,
      port,
      defaultPort: 80,
    });
    if (hostProblem !== undefined) {
      // 403 for another site, as pipelock answers the same request: the agent sees one rule.
      refuse(
        hostProblem.kind === "unreadable" ? 400 : 403,
        `egress forwards this request to ${authority.host}:${port}: ${hostProblem.message}`,
      );
      return;
    }
    // Plain http:// never carries a token: it would cross to pipelock and beyond in clear text.
    const headers = upstreamRequestHeaders(req.rawHeaders, undefined);
    const send = () =>
      http.request({
        agent: forwardAgent,
        host: options.upstream.proxy.host,
        port: options.upstream.proxy.port,
        method,
        path: target,
        headers,
      });
    const host = normalizeHost(url.hostname);
    relayExchange({
      req,
      res,
      send,
      redact,
      scrub,
      done: (outcome) =>
        log({ kind: "forward", routed: false, host, method, path: url.pathname, ...outcome }),
    });

    function refuse(status: number, message: string) {
      sendErrorPage(res, status, message, redact);
      refuseLog(target, method, status, message);
    }
  }

  return {
    server,
    hasLeafFor: (host) => interceptor.hasLeafFor(host),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        interceptor.close();
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        agent.destroy();
        forwardAgent.destroy();
      }),
  };
}
