// TLS termination for route hosts: the agent's CONNECT to a route host on 443 is answered by
// egress with a leaf from the egress CA, and each request read inside is sent on through
// pipelock, with the route's token when a route matches (a WebSocket upgrade too, its frames
// relayed by websocket.ts). Only route hosts ever get a leaf; every other CONNECT is relayed
// untouched by the proxy server.
import * as http from "node:http";
import * as https from "node:https";
import type * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import {
  LeafCache,
  type LeafKey,
  mintLeafCertificate,
  type SigningCa,
} from "../../shared/ca/index.js";
import { type Authority, hostHeaderProblem, parseAuthority } from "./authority.js";
import {
  formMethodOverrides,
  type MethodOverride,
  methodProblem,
  overrideProblem,
} from "./method-override.js";
import { upstreamRequestHeaders } from "./proxy-headers.js";
import { answerUnparsable, rawErrorResponse, relayExchange, sendErrorPage } from "./relay.js";
import type { RequestLogEntry } from "./request-log.js";
import type { ResponseGuard } from "./response-guard.js";
import { matchRoute, normalizeHost, pathWithoutQuery } from "./route-match.js";
import { errorText, type ResolvedRoute } from "./routes-config.js";
import type { TokenForm } from "./token-scrub.js";
import type { TunnelAgent } from "./upstream.js";
import { relayUpgrade } from "./websocket.js";

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
  /** Route token forms taken out of every response relayed from a route host. */
  scrub: readonly TokenForm[];
  /** Reads what the scrub left of a token in each answer; a finding withholds it. */
  guard: ResponseGuard;
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
      answerUnparsable(error, socket, {
        log: options.log,
        host: this.#targets.get(socket as net.Socket)?.host ?? "",
        inside: { log: "a route host's tunnel", page: "the tunnel" },
      });
    });
    this.#server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.#onUpgrade(req, socket, head);
      } catch (error) {
        socket.end(
          rawErrorResponse(
            500,
            "Internal Server Error",
            options.redact(`egress failed on this upgrade: ${errorText(error)}`),
          ),
        );
      }
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
    const refuse = (status: number, message: string) =>
      sendErrorPage(res, status, message, this.#options.redact);
    const admitted = this.#admit(req, refuse);
    if (admitted === undefined) return;
    const { target, path, logPath, route } = admitted;
    if (route !== undefined && route.methods !== "all" && mayCarryBodyOverride(req)) {
      readBody(req, (error, body) => {
        if (error !== undefined) {
          // The rest of the body is still on the wire: this connection cannot go on.
          res.shouldKeepAlive = false;
          admitted.refuse(error.status, error.message);
          return;
        }
        const formProblem = methodProblem(
          this.#options.routes,
          route,
          { host: target.host, path },
          bodyMethodOverrides(req, body),
        );
        if (formProblem !== undefined) {
          admitted.refuse(403, formProblem);
          return;
        }
        this.#relay(req, res, { target, route, path, logPath, body });
      });
      return;
    }
    this.#relay(req, res, { target, route, path, logPath });
  }

  /**
   * A WebSocket upgrade inside a route host's tunnel: checked as any request is, then
   * relayed (websocket.ts). Any other protocol is refused.
   */
  #onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const { redact } = this.#options;
    socket.on("error", () => socket.destroy());
    const refuse = (status: number, message: string) =>
      socket.end(rawErrorResponse(status, http.STATUS_CODES[status] ?? "Error", redact(message)));
    const isWebSocket = (req.headers.upgrade ?? "").trim().toLowerCase() === "websocket";
    const admitted = this.#admit(req, refuse, () => {
      if (!isWebSocket) {
        return {
          status: 501,
          message: "egress relays only WebSocket upgrades to route hosts",
        };
      }
      if ((req.method ?? "") !== "GET") {
        return { status: 400, message: "a WebSocket upgrade is a GET request" };
      }
      const length = req.headers["content-length"];
      if (
        req.headers["transfer-encoding"] !== undefined ||
        (length !== undefined && length !== "0")
      ) {
        return { status: 400, message: "a WebSocket upgrade request carries no body" };
      }
      return undefined;
    });
    if (admitted === undefined) return;
    const { target, route, path, logPath } = admitted;
    relayUpgrade({
      req,
      socket,
      head,
      host: target.host,
      port: target.port,
      path,
      headers: upstreamRequestHeaders(req.rawHeaders, route?.header),
      agent: this.#options.agent,
      scrub: this.#options.scrub,
      guard: this.#options.guard,
      redact,
      done: (outcome) =>
        this.#options.log({
          kind: "intercept",
          routed: route !== undefined,
          host: target.host,
          method: "GET",
          path: logPath,
          ...outcome,
        }),
    });
  }

  /**
   * The checks every request inside a route host's tunnel passes before anything is sent
   * upstream; undefined when `answer` was called (and the refusal logged).
   */
  #admit(
    req: http.IncomingMessage,
    answer: (status: number, message: string) => void,
    first?: () => { status: number; message: string } | undefined,
  ):
    | {
        target: InterceptTarget;
        route: ResolvedRoute | undefined;
        path: string;
        logPath: string;
        refuse: (status: number, message: string) => void;
      }
    | undefined {
    const { log } = this.#options;
    const target = this.#targets.get(req.socket);
    const method = req.method ?? "GET";
    const path = originFormPath(req.url ?? "");
    const logPath = pathWithoutQuery(path ?? req.url ?? "");
    const refuse = (status: number, message: string) => {
      answer(status, message);
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
    const early = first?.();
    if (early !== undefined) {
      refuse(early.status, early.message);
      return undefined;
    }
    if (target === undefined) {
      refuse(500, "egress lost track of this connection's destination");
      return undefined;
    }
    if (path === undefined) {
      refuse(400, "egress expects origin-form request targets (/path) inside a tunnel");
      return undefined;
    }
    const otherSite = otherSiteProblem(req, target);
    if (otherSite !== undefined) {
      refuse(otherSite.status, otherSite.message);
      return undefined;
    }
    const route = matchRoute(this.#options.routes, { host: target.host, method, path });
    if (route !== undefined) {
      const problem = overrideProblem(this.#options.routes, route, {
        host: target.host,
        path,
        rawHeaders: req.rawHeaders,
      });
      if (problem !== undefined) {
        refuse(403, problem);
        return undefined;
      }
    }
    return { target, route, path, logPath, refuse };
  }

  #relay(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    request: {
      target: InterceptTarget;
      route: ResolvedRoute | undefined;
      path: string;
      logPath: string;
      body?: Buffer;
    },
  ): void {
    const { redact, log } = this.#options;
    const { target, route, path, logPath } = request;
    const method = req.method ?? "GET";
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
      scrub: this.#options.scrub,
      guard: this.#options.guard,
      ...(request.body === undefined ? {} : { body: request.body }),
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

/**
 * The authority of an absolute-form target ("https://host/x"): undefined for origin-form,
 * null when it cannot be read strictly.
 */
function absoluteFormAuthority(url: string): Authority | null | undefined {
  if (url.startsWith("/")) return undefined;
  const m = /^https?:\/\/([^/?#]*)/i.exec(url);
  return m === null ? null : (parseAuthority(m[1] ?? "") ?? null);
}

/**
 * Bodies a framework may read "_method" from: forms (Rails, Laravel, Symfony; Rack reads
 * untyped POSTs as forms too) and JSON (Express's method-override reading req.body).
 */
function mayCarryBodyOverride(req: http.IncomingMessage): boolean {
  if (
    req.headers["content-length"] === undefined &&
    req.headers["transfer-encoding"] === undefined
  ) {
    return false;
  }
  const type = mediaType(req);
  return (
    type === "" ||
    type === FORM_URLENCODED ||
    type === "multipart/form-data" ||
    type === "application/json" ||
    type.endsWith("+json")
  );
}

function mediaType(req: http.IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

const FORM_URLENCODED = "application/x-www-form-urlencoded";
/**
 * A form or JSON body to a method-limited route is read whole to look for "_method"; larger
 * ones are refused. Generous, so that a model API's image-laden JSON still fits.
 */
export const MAX_CHECKED_BODY_BYTES = 16 * 1024 * 1024;

function readBody(
  req: http.IncomingMessage,
  done: (error: { status: number; message: string } | undefined, body: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const finish = (error: { status: number; message: string } | undefined) => {
    if (settled) return;
    settled = true;
    done(error, Buffer.concat(chunks));
  };
  req.on("data", (chunk: Buffer) => {
    if (settled) return;
    size += chunk.length;
    if (size > MAX_CHECKED_BODY_BYTES) {
      req.pause();
      finish({
        status: 413,
        message: `egress reads a form or JSON body to a method-limited route whole to check it for _method, and this one is over ${MAX_CHECKED_BODY_BYTES} bytes`,
      });
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => finish(undefined));
  req.on("error", () => finish({ status: 400, message: "the request body was cut short" }));
}

/**
 * "_method" in a urlencoded body, or as a top-level key of a JSON object (any case, after
 * JSON's own escapes). In a multipart or untyped body, a "_method" or "%5f" anywhere counts
 * as an override of an unknown method, and so does JSON egress cannot parse: egress refuses
 * what it cannot rule out.
 */
export function bodyMethodOverrides(req: http.IncomingMessage, body: Buffer): MethodOverride[] {
  const type = mediaType(req);
  if (type === FORM_URLENCODED) return formMethodOverrides(body.toString("latin1"), "form");
  if (type === "application/json" || type.endsWith("+json")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      return [{ where: "a JSON body egress cannot parse", method: "(unparsed)" }];
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return [];
    return Object.entries(parsed)
      .filter(([key]) => key.trim().toLowerCase() === "_method")
      .map(([, value]) => ({
        where: "a _method JSON member",
        method: String(value).toUpperCase(),
      }));
  }
  return /_method|%5f/i.test(body.toString("latin1"))
    ? [{ where: "the form body", method: "(unparsed)" }]
    : [];
}

/**
 * One Host, naming exactly the tunnel's site, and no absolute-form target naming another: a
 * Host naming another site on the same server (domain fronting), or one a server might read
 * otherwise, must not get the token.
 */
function otherSiteProblem(
  req: http.IncomingMessage,
  target: InterceptTarget,
): { status: number; message: string } | undefined {
  const hostProblem = hostHeaderProblem(req.rawHeaders, {
    host: target.host,
    port: target.port,
    defaultPort: 443,
  });
  if (hostProblem !== undefined) {
    return {
      status: hostProblem.kind === "unreadable" ? 400 : 421,
      message: `egress routes this tunnel to ${target.host}: ${hostProblem.message}`,
    };
  }
  const absolute = absoluteFormAuthority(req.url ?? "");
  if (
    absolute !== undefined &&
    (absolute === null ||
      absolute.host !== normalizeHost(target.host) ||
      (absolute.port ?? 443) !== target.port)
  ) {
    return {
      status: 421,
      message: `egress routes this tunnel to ${target.host}; the request target names another site`,
    };
  }
  return undefined;
}
