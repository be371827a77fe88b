// Where a request is going, read from the three places a client names it: the CONNECT
// authority, the TLS server name and the Host header (or an absolute-form URL). pipelock
// decides on the CONNECT target and refuses requests whose other names disagree with it.
import type { IncomingMessage } from "node:http";
import { parseHostPort } from "../../shared/authority.js";
import { type NormalizedHost, normalizeHost } from "./allowlist.js";

export interface Target {
  host: NormalizedHost;
  port: number;
  /** "https" inside an intercepted tunnel, "http" for forwarded requests and plain tunnels. */
  scheme: "http" | "https";
  /** Every name the client gave for it, as it wrote them (case and all), to check for secrets. */
  spellings?: readonly NameSpelling[];
}

/** Where a client named the target, and how it wrote the host there. */
export interface NameSpelling {
  where: "connect" | "sni" | "header:host" | "url";
  text: string;
}

/** A CONNECT tunnel pipelock accepted: decided once, consulted by every request inside it. */
export interface Tunnel {
  target: Target;
  /** The client's address:port. */
  client: string;
  /** The TLS server name the client sent, if any. */
  sni?: string;
}

/**
 * "host:port", "[v6]:port", and with `defaultPort` also a bare "host", read by the project's
 * one parser (src/shared/authority.ts), then as pipelock matches hosts. Anything else is
 * undefined, never a best guess: an empty or out-of-range port, a second colon, userinfo,
 * spaces, percent-escapes, a bracketed name, a zone id.
 */
export function parseAuthority(
  authority: string,
  defaultPort?: number,
): { host: NormalizedHost; port: number; hostText: string } | undefined {
  const parsed = parseHostPort(authority);
  if (parsed === undefined) return undefined;
  const port = parsed.port ?? defaultPort;
  if (port === undefined) return undefined;
  const host = normalizeHost(parsed.text);
  return host === undefined ? undefined : { host, port, hostText: parsed.text };
}

export interface RequestLine {
  target: Target;
  /** Origin-form path and query as sent. */
  pathAndQuery: string;
  /** The host as the URL wrote it. */
  hostText: string;
}

/**
 * Reads an absolute-form URL ("http://host:port/p?q"); undefined when it is not one. The
 * authority is read as strictly as a Host header, not the way a browser's URL parser does
 * (which decodes "%61", maps full-width letters and drops userinfo): a name pipelock reads
 * one way must not reach a server that reads it another.
 */
export function parseAbsoluteUrl(url: string): RequestLine | undefined {
  const match = /^(https?):\/\/([^/?#]*)(.*)$/is.exec(url);
  if (match === null) return undefined;
  const scheme = (match[1] as string).toLowerCase() === "https" ? "https" : "http";
  const authority = parseAuthority(match[2] as string, scheme === "https" ? 443 : 80);
  if (authority === undefined) return undefined;
  // Keep the path exactly as sent: URL would normalise "%2e%2e" and the like.
  const rest = (match[3] as string).replace(/#.*$/s, "");
  const pathAndQuery = rest === "" ? "/" : rest.startsWith("?") ? `/${rest}` : rest;
  const { host, port, hostText } = authority;
  return { target: { host, port, scheme }, pathAndQuery, hostText };
}

export function splitPathAndQuery(pathAndQuery: string): { path: string; query: string | null } {
  const at = pathAndQuery.indexOf("?");
  return at === -1
    ? { path: pathAndQuery, query: null }
    : { path: pathAndQuery.slice(0, at), query: pathAndQuery.slice(at + 1) };
}

export function sameHost(a: NormalizedHost, b: NormalizedHost): boolean {
  return a.host === b.host;
}

export function clientOf(req: IncomingMessage): string {
  const s = req.socket;
  return `${s.remoteAddress ?? "?"}:${s.remotePort ?? "?"}`;
}

export function formatHostPort(target: { host: NormalizedHost; port: number }): string {
  const h = target.host.host;
  return `${h.includes(":") ? `[${h}]` : h}:${target.port}`;
}
