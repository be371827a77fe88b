// Plain requests to the proxy: absolute-form http:// targets go to pipelock as the agent sent
// them (never with a token: it would cross in clear text), egress's own endpoints are
// answered here, and anything else gets an error page. The target's authority is read
// strictly so that pipelock and the server behind it cannot see two different hosts in it.
import * as http from "node:http";
import type * as net from "node:net";
import { EGRESS_LOCAL_PREFIX } from "../../contracts/egress.js";
import { hostHeaderProblem, parseAuthority } from "./authority.js";
import { answerOnSocket, type EgressContext } from "./egress-context.js";
import { answerLocalEndpoint } from "./local-endpoints.js";
import { upstreamRequestHeaders } from "./proxy-headers.js";
import { relayExchange, sendErrorPage } from "./relay.js";
import { normalizeHost, pathWithoutQuery } from "./route-match.js";

export function handleRequest(
  ctx: EgressContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const { routes, redact, log } = ctx;
  const target = req.url ?? "";
  const method = req.method ?? "GET";
  const refuse = (status: number, message: string) => {
    sendErrorPage(res, status, message, redact);
    logRefused(ctx, { target, method, status, error: message });
  };
  if (target.startsWith("/")) {
    if (target.startsWith(EGRESS_LOCAL_PREFIX)) {
      answerLocalEndpoint({ req, res, path: pathWithoutQuery(target), routes, redact, log });
      return;
    }
    refuse(400, "egress is a proxy: send absolute-form http:// requests or CONNECT host:port");
    return;
  }
  const read = readPlainTarget(target);
  if ("refusal" in read) {
    refuse(400, read.refusal);
    return;
  }
  const { url, authority, port } = read;
  if (
    ctx.selfNames.has(normalizeHost(url.hostname)) &&
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
      agent: ctx.forwardAgent,
      host: ctx.upstream.proxy.host,
      port: ctx.upstream.proxy.port,
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
    scrub: ctx.scrub,
    guard: ctx.guard,
    done: (outcome) =>
      log({ kind: "forward", routed: false, host, method, path: url.pathname, ...outcome }),
  });
}

/**
 * An absolute-form http:// target, its authority read strictly and read the same by WHATWG's
 * parser: pipelock and the server behind it must not be able to see two different hosts in
 * it. Or why it is refused (400).
 */
function readPlainTarget(
  target: string,
): { url: URL; authority: { host: string }; port: number } | { refusal: string } {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return { refusal: "egress could not parse the request target" };
  }
  if (url.protocol !== "http:") {
    return { refusal: `egress forwards only http:// URLs; use CONNECT for ${url.protocol}//` };
  }
  const rawAuthority = /^http:\/\/([^/?#]*)/i.exec(target)?.[1];
  const authority = rawAuthority === undefined ? undefined : parseAuthority(rawAuthority);
  const port = url.port === "" ? 80 : Number(url.port);
  if (
    authority === undefined ||
    authority.host !== normalizeHost(url.hostname) ||
    (authority.port ?? 80) !== port
  ) {
    return {
      refusal:
        "egress forwards only http://host[:port]/path targets (a name or [IPv6 address], no user info, a port from 1 to 65535 if any)",
    };
  }
  return { url, authority, port };
}

/** An Upgrade through the plain proxy: egress relays no other protocol over http://. */
export function refuseUpgrade(
  ctx: EgressContext,
  req: http.IncomingMessage,
  socket: net.Socket,
): void {
  logRefused(ctx, {
    target: req.url ?? "",
    method: req.method ?? "",
    status: 501,
    error: "protocol upgrade through the plain proxy",
  });
  answerOnSocket(ctx, socket, {
    status: 501,
    reason: "Not Implemented",
    message: "egress does not relay protocol upgrades over plain http://",
  });
}

/** Logs a request egress answered itself; the host and path when the target has them. */
function logRefused(
  ctx: EgressContext,
  refusal: { target: string; method: string; status: number; error: string },
): void {
  const { target, method, status, error } = refusal;
  let host = "";
  let path: string | null = pathWithoutQuery(target);
  try {
    const url = new URL(target);
    host = normalizeHost(url.hostname);
    path = url.pathname;
  } catch {
    // Not absolute-form: the target without its query is all there is.
  }
  ctx.log({ kind: "refused", routed: false, host, method, path, status, error });
}
