// The "host[:port]" that CONNECT targets, absolute-form URLs and Host headers carry, read by
// the project's one strict parser, and the one comparison egress makes with them: the site a request names in its Host
// header must be the site it is sent to. Anything this parser does not understand is refused
// by its callers, never passed on unchecked: a server may read an odd authority differently.
import { parseHostPort } from "../../shared/authority.js";
import { headerCount } from "../../shared/hop-headers.js";
import { normalizeHost } from "./route-match.js";

export interface Authority {
  /** Lower case, without brackets or a trailing dot. */
  host: string;
  /** Absent when the text named none. */
  port?: number;
}

/** `text` as host and optional port (src/shared/authority.ts); undefined for anything else. */
export function parseAuthority(text: string): Authority | undefined {
  const parsed = parseHostPort(text);
  if (parsed === undefined) return undefined;
  return parsed.port === undefined
    ? { host: normalizeHost(parsed.host) }
    : { host: normalizeHost(parsed.host), port: parsed.port };
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
