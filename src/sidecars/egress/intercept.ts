// TLS termination for route hosts: the agent's CONNECT to a route host on 443 is answered by
// egress with a leaf from the egress CA, and each request read inside is sent on through
// pipelock, with the route's token when a route matches. Only route hosts ever get a leaf;
// every other CONNECT is relayed untouched by the proxy server.
import * as http from "node:http";
import * as https from "node:https";
import type * as net from "node:net";
import * as tls from "node:tls";
import {
  LeafCache,
  type LeafKey,
  mintLeafCertificate,
  type SigningCa,
} from "../../shared/ca/index.js";
import { headerCount } from "../../shared/hop-headers.js";
import { upstreamRequestHeaders } from "./proxy-headers.js";
import { relayExchange, sendErrorPage } from "./relay.js";
import type { RequestLogEntry } from "./request-log.js";
import { matchRoute, normalizeHost, pathWithoutQuery } from "./route-match.js";
import { errorText, type ResolvedRoute } from "./routes-config.js";
import type { TunnelAgent } from "./upstream.js";

export interface InterceptTarget {
  host: string;
  port: number;
}

export interface InterceptorOptions {
  routes: readonly ResolvedRoute[];
  ca: SigningCa;
  leafKey: LeafKey;
  agent: TunnelAgent;
  now: () => Date;
  log: (entry: RequestLogEntry) => void;
  redact: (text: string) => string;
}

const HANDSHAKE_TIMEOUT_MS = 30_000;

export class Interceptor {
  readonly #options: InterceptorOptions;
  readonly #leaves = new LeafCache<{ context: tls.SecureContext; notAfter: Date }>({
    maxEntries: 256,
  });
  readonly #targets = new WeakMap<net.Socket, InterceptTarget>();
  readonly #sockets = new Set<tls.TLSSocket>();
  readonly #server: http.Server;

  constructor(options: InterceptorOptions) {
    this.#options = options;
    this.#server = http.createServer((req, res) => {
      try {
        this.#onRequest(req, res);
      } catch (error) {
        sendErrorPage(
          res,
          500,
          `egress failed on this request: ${errorText(error)}`,
          options.redact,
        );
      }
    });
    this.#server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
      if (error.code === "ECONNRESET" || !socket.writable) {
        socket.destroy();
        return;
      }
      const status =
        error.code === "HPE_HEADER_OVERFLOW"
          ? "431 Request Header Fields Too Large"
          : "400 Bad Request";
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
    this.#server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
      const target = this.#targets.get(req.socket);
      this.#options.log({
        kind: "refused",
        routed: false,
        host: target?.host ?? "",
        method: req.method ?? "",
        path: pathWithoutQuery(req.url ?? ""),
        status: 501,
        error: "protocol upgrade on a route host",
      });
      socket.end(
        "HTTP/1.1 501 Not Implemented\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: 59\r\n\r\negress does not relay protocol upgrades to route hosts yet\n",
      );
    });
  }

  /** Whether a leaf was minted for `host`: only route hosts should ever have one. */
  hasLeafFor(host: string): boolean {
    return this.#leaves.has(normalizeHost(host));
  }

  /** Mints (or reuses) the leaf for `host`; call before answering the CONNECT. */
  async prepare(host: string): Promise<tls.SecureContext> {
    const key = normalizeHost(host);
    const leaf = await this.#leaves.getOrMint(key, this.#options.now(), async () => {
      const minted = await mintLeafCertificate(this.#options.ca, key, {
        now: this.#options.now(),
        key: this.#options.leafKey,
      });
      const context = tls.createSecureContext({ cert: minted.chainPem, key: minted.keyPem });
      return { context, notAfter: minted.notAfter };
    });
    return leaf.context;
  }

  /** Takes over a CONNECT socket already answered with 200: TLS, then HTTP requests. */
  accept(socket: net.Socket, target: InterceptTarget, context: tls.SecureContext): void {
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      ALPNProtocols: ["http/1.1"],
    });
    this.#sockets.add(secure);
    this.#targets.set(secure, target);
    secure.on("error", () => secure.destroy());
    socket.on("error", () => secure.destroy());
    secure.on("close", () => {
      this.#sockets.delete(secure);
      socket.destroy();
    });
    secure.setTimeout(HANDSHAKE_TIMEOUT_MS, () => secure.destroy());
    secure.once("secure", () => secure.setTimeout(0));
    this.#server.emit("connection", secure);
  }

  close(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.#leaves.clear();
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { redact, log } = this.#options;
    const target = this.#targets.get(req.socket);
    const method = req.method ?? "GET";
    const path = originFormPath(req.url ?? "");
    const logPath = pathWithoutQuery(path ?? req.url ?? "");
    const refuse = (status: number, message: string) => {
      sendErrorPage(res, status, message, redact);
      log({
        kind: "refused",
        routed: false,
        host: target?.host ?? "",
        method,
        path: logPath,
        status,
        error: message,
      });
    };
    if (target === undefined) {
      refuse(500, "egress lost track of this connection's destination");
      return;
    }
    if (path === undefined) {
      refuse(400, "egress expects origin-form request targets (/path) inside a tunnel");
      return;
    }
    // Node reads the first Host and the rest would be forwarded with the token: one only.
    if (headerCount(req.rawHeaders, "host") > 1) {
      refuse(400, "more than one Host header");
      return;
    }
    // A Host naming another site on the same server (domain fronting) must not receive the token.
    const hostHeader = req.headers.host;
    if (hostHeader === undefined || !sameAuthority(hostHeader, target)) {
      refuse(
        421,
        `egress routes this tunnel to ${target.host}; the request's Host header names another site (${hostHeader ?? "none"})`,
      );
      return;
    }
    const route = matchRoute(this.#options.routes, { host: target.host, method, path });
    const headers = upstreamRequestHeaders(req.rawHeaders, route?.header);
    const send = () =>
      https.request({
        agent: this.#options.agent,
        host: target.host,
        port: target.port,
        servername: target.host,
        method,
        path,
        headers,
      });
    relayExchange({
      req,
      res,
      send,
      redact,
      done: (outcome) =>
        log({
          kind: "intercept",
          routed: route !== undefined,
          host: target.host,
          method,
          path: logPath,
          ...outcome,
        }),
    });
  }
}

/** "/x?y" as is; "https://host/x?y" reduced to "/x?y"; anything else undefined. */
function originFormPath(url: string): string | undefined {
  if (url.startsWith("/")) return url;
  if (!/^https?:\/\//i.test(url)) return undefined;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return undefined;
  }
}

function sameAuthority(hostHeader: string, target: InterceptTarget): boolean {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.trim());
  if (m === null || m[1] === undefined) return false;
  const port = m[2] === undefined ? 443 : Number(m[2]);
  return normalizeHost(m[1]) === normalizeHost(target.host) && port === target.port;
}
