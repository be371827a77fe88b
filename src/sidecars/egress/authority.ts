// Strict parsing of the "host[:port]" that CONNECT targets, absolute-form URLs and Host headers
// carry, and the one comparison egress makes with them: the site a request names in its Host
// header must be the site it is sent to. Anything this parser does not understand is refused
// by its callers, never passed on unchecked: a server may read an odd authority differently.
import { isIPv6 } from "node:net";
import { headerCount } from "../../shared/hop-headers.js";
import { normalizeHost } from "./route-match.js";

export interface Authority {
  /** Lower case, without brackets or a trailing dot. */
  host: string;
  /** Absent when the text named none. */
  port?: number;
}

// A DNS-style name or dotted IPv4: letters, digits, "-", "_" and "." only (no userinfo, no
// percent-encoding, no "%zone", no brackets around a name).
const NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_.])?$/;
const PORT = /^[0-9]{1,5}$/;

/** `text` as host and optional port; undefined for anything but a plain name or [IPv6]. */
export function parseAuthority(text: string): Authority | undefined {
  let host: string;
  let rest: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) return undefined;
    const literal = text.slice(1, close);
    if (!isIPv6(literal) || literal.includes("%")) return undefined;
    host = literal;
    rest = text.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return undefined;
  } else {
    const colon = text.indexOf(":");
    host = colon === -1 ? text : text.slice(0, colon);
    rest = colon === -1 ? "" : text.slice(colon);
    if (!NAME.test(host) || host.includes("..")) return undefined;
  }
  if (rest === "") return { host: normalizeHost(host) };
  const portText = rest.slice(1);
  // An empty port ("host:") is legal in RFC 3986 and read as the default by some servers and
  // as an error by others: refused, so no two readings can differ.
  if (!PORT.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host: normalizeHost(host), port };
}

export interface HostHeaderProblem {
  /** A missing, repeated or unreadable Host (answered 400), or one naming another site. */
  kind: "unreadable" | "other-site";
  message: string;
}

/**
 * Why the request's Host header does not name `expected` (defaultPort when it names no
 * port), or undefined when it does. Exactly one Host header is allowed.
 */
export function hostHeaderProblem(
  rawHeaders: readonly string[],
  expected: { host: string; port: number; defaultPort: number },
): HostHeaderProblem | undefined {
  const count = headerCount(rawHeaders, "host");
  if (count > 1) return { kind: "unreadable", message: "more than one Host header" };
  if (count === 0) return { kind: "unreadable", message: "the request has no Host header" };
  let value = "";
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === "host") value = rawHeaders[i + 1] ?? "";
  }
  const parsed = parseAuthority(value.trim());
  // The header's text is the agent's and may carry a secret: it is never repeated here, and
  // so never in egress's log either.
  if (parsed === undefined) {
    return {
      kind: "unreadable",
      message:
        "the Host header is not a host[:port] egress can read (a name or [IPv6 address], and a port from 1 to 65535 if any)",
    };
  }
  const port = parsed.port ?? expected.defaultPort;
  if (parsed.host !== normalizeHost(expected.host) || port !== expected.port) {
    return {
      kind: "other-site",
      message: `the Host header names another site than ${expected.host}:${expected.port}`,
    };
  }
  return undefined;
}
