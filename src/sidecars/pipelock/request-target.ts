// Works out which target a request inside or outside a tunnel is for, and refuses requests
// whose names disagree (domain fronting): the tunnel's CONNECT host, the TLS server name, the
// request URL and the Host header must all name the same host. A name that does not parse is
// refused with a 400, never let past the comparison. Every spelling goes along with the
// target, so that admission can look for secrets in each one as the client wrote it.
import type { IncomingMessage } from "node:http";
import { PIPELOCK_HEALTH_PATH } from "../../contracts/pipelock.js";
import { headerCount } from "../../shared/hop-headers.js";
import { shownName } from "./admission.js";
import { normalizeHost } from "./allowlist.js";
import { badRequest, type Refusal, targetMismatch, unreadableName } from "./messages.js";
import type { Policy } from "./policy.js";
import {
  type NameSpelling,
  parseAbsoluteUrl,
  parseAuthority,
  sameHost,
  type Target,
  type Tunnel,
} from "./target.js";

export type ResolvedRequest =
  | { kind: "health" }
  | { kind: "target"; target: Target; pathAndQuery: string }
  | { kind: "refused"; refusal: Refusal; rule: string; target: Target | undefined };

const MALFORMED_TARGET =
  "malformed request target: send http://host[:port]/path with a plain host name or IP " +
  "address (no userinfo, no percent-escapes) and a port from 1 to 65535";

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
    if (line === undefined) return refused(badRequest(MALFORMED_TARGET), "bad-request");
    if (line.target.scheme === "https") {
      return refused(badRequest("use CONNECT for https:// URLs"), "bad-request", line.target);
    }
    const named = readHostHeader(hostHeader, line.target, policy);
    if (!("host" in named)) return named;
    if (!sameHost(named.host, line.target.host) || named.port !== line.target.port) {
      return mismatch("Host header", line.target, hostHeader ?? "", policy, "host-mismatch");
    }
    const spellings: NameSpelling[] = [
      { where: "url", text: line.hostText },
      { where: "header:host", text: named.hostText },
    ];
    return {
      kind: "target",
      target: { ...line.target, spellings },
      pathAndQuery: line.pathAndQuery,
    };
  }

  const target = tunnel.target;
  const spellings: NameSpelling[] = [...(target.spellings ?? [])];
  let pathAndQuery = url;
  if (!url.startsWith("/")) {
    const line = parseAbsoluteUrl(url);
    if (line === undefined) return refused(badRequest(MALFORMED_TARGET), "bad-request", target);
    if (!sameHost(line.target.host, target.host) || line.target.port !== target.port) {
      return mismatch("request URL", target, line.target.host.host, policy, "host-mismatch");
    }
    spellings.push({ where: "url", text: line.hostText });
    pathAndQuery = line.pathAndQuery;
  }
  if (tunnel.sni !== undefined) {
    const sni = normalizeHost(tunnel.sni);
    if (sni === undefined) {
      const shown = shownName(policy, tunnel.sni);
      return refused(unreadableName("TLS server name (SNI)", shown), "bad-sni", target);
    }
    if (!sameHost(sni, target.host)) {
      return mismatch("TLS server name (SNI)", target, tunnel.sni, policy, "sni-mismatch");
    }
    spellings.push({ where: "sni", text: tunnel.sni });
  }
  const named = readHostHeader(hostHeader, target, policy);
  if (!("host" in named)) return named;
  if (!sameHost(named.host, target.host) || named.port !== target.port) {
    return mismatch("Host header", target, hostHeader ?? "", policy, "host-mismatch");
  }
  spellings.push({ where: "header:host", text: named.hostText });
  return { kind: "target", target: { ...target, spellings }, pathAndQuery };
}

/** The Host header read strictly; a refusal when it is missing or does not parse. */
function readHostHeader(
  hostHeader: string | undefined,
  target: Target,
  policy: Policy,
): NonNullable<ReturnType<typeof parseAuthority>> | ResolvedRequest {
  if (hostHeader === undefined) {
    return refused(
      badRequest(`a request needs a Host header naming the host it is for ("${target.host.host}")`),
      "bad-host",
      target,
    );
  }
  const named = parseAuthority(hostHeader, target.port);
  if (named === undefined) {
    return refused(
      unreadableName("Host header", shownName(policy, hostHeader)),
      "bad-host",
      target,
    );
  }
  return named;
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
  return refused(targetMismatch(what, target.host.host, shownName(policy, other)), rule, target);
}
