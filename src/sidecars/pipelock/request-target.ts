// Works out which target a request inside or outside a tunnel is for, and refuses requests
// whose names disagree (domain fronting): the tunnel's CONNECT host, the TLS server name, the
// request URL and the Host header must all name the same host.
import type { IncomingMessage } from "node:http";
import { headerCount } from "../../shared/hop-headers.js";
import { REDACTED } from "./admission.js";
import { normalizeHost } from "./allowlist.js";
import { PIPELOCK_HEALTH_PATH } from "./constants.js";
import { badRequest, type Refusal, targetMismatch } from "./messages.js";
import type { Policy } from "./policy.js";
import { parseAbsoluteUrl, parseAuthority, sameHost, type Target, type Tunnel } from "./target.js";

export type ResolvedRequest =
  | { kind: "health" }
  | { kind: "target"; target: Target; pathAndQuery: string }
  | { kind: "refused"; refusal: Refusal; rule: string; target: Target | undefined };

export function resolveRequest(
  req: IncomingMessage,
  tunnel: Tunnel | undefined,
  policy: Policy,
): ResolvedRequest {
  const url = req.url ?? "";
  const hostHeader = req.headers.host;
  // Node keeps the first Host and we forward every header: a second one could name a host
  // the allowlist never saw to a server that reads the last (RFC 9112 3.2: reject it).
  if (headerCount(req.rawHeaders, "host") > 1) {
    return refused(badRequest("more than one Host header"), "bad-request", tunnel?.target);
  }
  if (tunnel === undefined) {
    if (url.startsWith("/")) {
      if (url.split("?")[0] === PIPELOCK_HEALTH_PATH) return { kind: "health" };
      return refused(
        badRequest(
          "this is an HTTP proxy: send absolute-form requests (http://host/path) or CONNECT",
        ),
        "bad-request",
      );
    }
    const line = parseAbsoluteUrl(url);
    if (line === undefined) return refused(badRequest("malformed request target"), "bad-request");
    if (line.target.scheme === "https") {
      return refused(badRequest("use CONNECT for https:// URLs"), "bad-request", line.target);
    }
    const named =
      hostHeader === undefined ? undefined : parseAuthority(hostHeader, line.target.port);
    if (named !== undefined && !sameHost(named.host, line.target.host)) {
      return mismatch("Host header", line.target, hostHeader ?? "", policy, "host-mismatch");
    }
    return { kind: "target", target: line.target, pathAndQuery: line.pathAndQuery };
  }

  const target = tunnel.target;
  let pathAndQuery = url;
  if (!url.startsWith("/")) {
    const line = parseAbsoluteUrl(url);
    if (line === undefined)
      return refused(badRequest("malformed request target"), "bad-request", target);
    if (!sameHost(line.target.host, target.host) || line.target.port !== target.port) {
      return mismatch("request URL", target, line.target.host.host, policy, "host-mismatch");
    }
    pathAndQuery = line.pathAndQuery;
  }
  if (tunnel.sni !== undefined) {
    const sni = normalizeHost(tunnel.sni);
    if (sni === undefined || !sameHost(sni, target.host)) {
      return mismatch("TLS server name (SNI)", target, tunnel.sni, policy, "sni-mismatch");
    }
  }
  const named = hostHeader === undefined ? undefined : parseAuthority(hostHeader, target.port);
  if (named === undefined || !sameHost(named.host, target.host) || named.port !== target.port) {
    return mismatch("Host header", target, hostHeader ?? "(none)", policy, "host-mismatch");
  }
  return { kind: "target", target, pathAndQuery };
}

function refused(refusal: Refusal, rule: string, target?: Target): ResolvedRequest {
  return { kind: "refused", refusal, rule, target };
}

function mismatch(
  what: string,
  target: Target,
  other: string,
  policy: Policy,
  rule: string,
): ResolvedRequest {
  // The other name is attacker-chosen text: show it only if it carries nothing secret.
  const shown =
    other.length <= 255 && policy.scanner.scan({ host: other }).status === "clean"
      ? other.replace(/[^\x20-\x7e]/g, "?")
      : REDACTED;
  return refused(targetMismatch(what, target.host.host, shown), rule, target);
}
