// The plain-text answers pipelock gives when it refuses a request. Each names what was refused
// and what to do about it, for a person and for an agent alike. They must never echo a secret:
// no paths, no queries, no header values, only hosts, rule ids and locations.

import { SUPERVISE_MCP_SERVER_NAME, SUPERVISE_TOOLS } from "../../contracts/supervise.js";
import type { DlpFinding } from "../../shared/dlp/index.js";
import { callTool, formatRefusal } from "../../shared/refusal-text.js";

export interface Refusal {
  status: number;
  text: string;
}

const BY = "pipelock (this bottle's egress firewall)";
const ASK_FOR_HOST = { name: SUPERVISE_TOOLS.requestEgressHost, server: SUPERVISE_MCP_SERVER_NAME };

function refusal(status: number, reason: string, next?: string): Refusal {
  return { status, text: formatRefusal({ by: BY, reason, next }) };
}

function askForHost(host: string, ip: boolean, supervise: boolean): string {
  if (supervise) {
    return (
      `To ask for it, ${callTool(ASK_FOR_HOST, `with host "${host}" and why you need it`)}; ` +
      "once a person approves, it works without a restart."
    );
  }
  const list = ip ? "egress.allow_ips" : "egress.allow";
  return `If you need it, ask the user to add "${host}" to ${list} in this bottle's manifest.`;
}

export function hostNotAllowed(
  host: string,
  port: number,
  options: { ip: boolean; supervise: boolean },
): Refusal {
  const what = options.ip
    ? `${hostPort(host, port)} is an IP address, and addresses are reachable only when listed one by one`
    : `${hostPort(host, port)} is not on this bottle's egress allowlist`;
  return refusal(
    403,
    `blocked this request: ${what}.`,
    askForHost(host, options.ip, options.supervise),
  );
}

export function secretFound(host: string, findings: readonly DlpFinding[]): Refusal {
  const lines = findings
    .slice(0, 5)
    .map((f) => `  - ${f.description} (rule ${f.ruleId}) in ${f.location}`);
  if (findings.length > 5) lines.push(`  - and ${findings.length - 5} more`);
  return refusal(
    403,
    `blocked this request to ${host}: it carries what looks like a secret:\n${lines.join("\n")}`,
    "Secrets must not leave the bottle. Remove it from the request and retry. If it is not " +
      "a secret, ask the user to review pipelock's audit log for this request.",
  );
}

/**
 * A name under a wildcard (or asked of a DNS-over-HTTPS server) that says too much: `what`
 * is why, e.g. "its label of 52 characters is longer than this bottle's bound of 40".
 */
export function nameTooTelling(
  host: string,
  what: string,
  options: { pattern: string | null; supervise: boolean },
): Refusal {
  const where =
    options.pattern === null
      ? `the name "${host}" asked of a DNS-over-HTTPS server`
      : `"${host}", allowed only through "${options.pattern}",`;
  const raise = "ask the user to raise egress.wildcard_labels in this bottle's manifest";
  // An exact allowlist entry lifts the bound for a host, never for a name asked by DoH.
  const ask =
    options.pattern === null
      ? `If the bottle needs such names resolved, ${raise}.`
      : options.supervise
        ? `To reach this exact name, ${callTool(ASK_FOR_HOST, `with host "${host}" and why you need it`)}; ` +
          `or ${raise}.`
        : `If you need this exact name, ask the user to add "${host}" to egress.allow in this ` +
          `bottle's manifest, or to raise egress.wildcard_labels there.`;
  return refusal(
    403,
    `blocked this request: ${where} ${what}. A name the bottle does not spell out ` +
      "reaches whoever runs its domain's name server, so long or random-looking labels are " +
      "refused as a way to carry data out.",
    ask,
  );
}

/**
 * A new name under a wildcard after the bottle has used its budget of distinct names there:
 * names it used before still work; a new one needs a person's yes (an exact allow entry).
 */
export function nameBudgetSpent(
  host: string,
  options: { pattern: string; budget: number; supervise: boolean },
): Refusal {
  const raise = "to raise egress.wildcard_names in this bottle's manifest";
  const ask = options.supervise
    ? `To reach this exact name, ${callTool(ASK_FOR_HOST, `with host "${host}" and why you need it`)}; ` +
      "once a person approves, it works without a restart."
    : `If you need this exact name, ask the user to add "${host}" to egress.allow in this ` +
      `bottle's manifest, or ${raise}.`;
  return refusal(
    403,
    `blocked this request: "${host}" would be a new name under "${options.pattern}", and ` +
      `this bottle has used its budget of ${options.budget} distinct names there. Every new ` +
      "name reaches whoever runs the domain's name server, so the number of names is bounded " +
      "as a way to carry data out. Names used before still work.",
    ask,
  );
}

/** Requests to one host (or one wildcard) faster than the bottle's rate limit allows. */
export function rateLimited(
  host: string,
  options: { key: string; perSecond: number; burst: number; retryAfterSeconds: number },
): Refusal {
  const scope = options.key === host ? `"${host}"` : `"${host}" (counted with "${options.key}")`;
  return refusal(
    429,
    `did not send this request: requests to ${scope} have gone past this bottle's rate ` +
      `limit of ${options.perSecond} per second (bursts of up to ${options.burst}).`,
    `Wait ${options.retryAfterSeconds} second${options.retryAfterSeconds === 1 ? "" : "s"} ` +
      "(Retry-After says when) and retry; nothing was sent. If the work truly needs more, " +
      "ask the user to raise egress.rate_limit in this bottle's manifest.",
  );
}

/** A name pipelock cannot read as a host (and optional port): refused, never passed unchecked. */
export function unreadableName(what: string, shown: string): Refusal {
  return badRequest(
    `the ${what} "${shown}" is not a host name or IP address with an optional port ` +
      "(1-65535); send the plain name the request is for",
  );
}

/** A DNS-over-HTTPS query pipelock cannot read, so cannot check the names it asks for. */
export function unreadableDnsQuery(detail: string): Refusal {
  return badRequest(
    `this looks like a DNS-over-HTTPS query, but it does not parse (${detail}); pipelock ` +
      "checks the names a query asks for and refuses one it cannot read",
  );
}

export function targetMismatch(what: string, connectHost: string, other: string): Refusal {
  return refusal(
    403,
    `blocked this request: the tunnel was opened to "${connectHost}" but the ${what} names ` +
      `"${other}". The CONNECT target, TLS server name and Host header must agree.`,
  );
}

/** A request in a tunnel opened while its host was refused, which is allowed since. */
export function retryElsewhere(host: string): Refusal {
  return refusal(
    503,
    `did not send this request: "${host}" is allowed now, but this connection was opened ` +
      "while it was not.",
    "Retry on a new connection.",
  );
}

export function bodyTooLarge(limit: number): Refusal {
  return refusal(
    413,
    `refused this request: its body is larger than ${limit} bytes, the most it scans for secrets.`,
    "Send less at a time, or ask the user to raise the bottle's limit.",
  );
}

export function cannotScan(host: string, detail: string): Refusal {
  return refusal(
    403,
    `blocked this request to ${host}: it cannot check the body for secrets (${detail}).`,
    "Send it uncompressed or gzip/deflate/br-encoded.",
  );
}

/** The scan itself failed (its worker died): the request was not sent, and may be retried. */
export function scanFailed(host: string): Refusal {
  return refusal(
    503,
    `did not send this request to ${host}: its check for secrets failed before it finished.`,
    "Nothing was sent; retry the request.",
  );
}

export function badRequest(detail: string): Refusal {
  return refusal(400, `refused this request: ${detail}`);
}

/** A name that resolved to a private or local address: refused, not merely unreachable. */
export function privateUpstream(detail: string): Refusal {
  return refusal(403, `blocked this request: ${detail}`);
}

export function upstreamFailed(host: string, detail: string): Refusal {
  return refusal(502, `could not reach ${host}: ${detail}`);
}

function hostPort(host: string, port: number): string {
  return `"${host.includes(":") ? `[${host}]` : host}:${port}"`;
}

/** A write (or a protocol upgrade) to a host the bottle may only read, such as a registry. */
export function readOnlyHost(host: string, port: number, method: string): Refusal {
  const what =
    method === "upgrade"
      ? "a protocol upgrade (WebSocket)"
      : `a ${method.replace(/[^A-Za-z]/g, "?").slice(0, 20)} request`;
  return refusal(
    403,
    `blocked this request: ${hostPort(host, port)} is read-only in this bottle (a package ` +
      `registry): only GET and HEAD reach it, and this is ${what}.`,
    "Reading and installing packages works; publishing from the bottle does not. Publish " +
      "from the host, outside the bottle.",
  );
}
