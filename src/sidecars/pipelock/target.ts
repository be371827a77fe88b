// Where a request is going, read from the three places a client names it: the CONNECT
// authority, the TLS server name and the Host header (or an absolute-form URL). pipelock
// decides on the CONNECT target and refuses requests whose other names disagree with it.
import type { IncomingMessage } from "node:http";
import { type NormalizedHost, normalizeHost } from "./allowlist.js";

export interface Target {
  host: NormalizedHost;
  port: number;
  /** "https" inside an intercepted tunnel, "http" for forwarded requests and plain tunnels. */
  scheme: "http" | "https";
}

/** A CONNECT tunnel pipelock accepted: decided once, consulted by every request inside it. */
export interface Tunnel {
  target: Target;
  /** The client's address:port. */
  client: string;
  /** The TLS server name the client sent, if any. */
  sni?: string;
}

/** "host:port", "[v6]:port", and with `defaultPort` also a bare "host". */
export function parseAuthority(
  authority: string,
  defaultPort?: number,
): { host: NormalizedHost; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(authority.trim());
  if (match === null) return undefined;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port === undefined || port < 1 || port > 65535) return undefined;
  const host = normalizeHost(match[1] as string);
  return host === undefined ? undefined : { host, port };
}

export interface RequestLine {
  target: Target;
  /** Origin-form path and query as sent. */
  pathAndQuery: string;
}

/** Reads an absolute-form URL ("http://host:port/p?q"); undefined when it is not one. */
export function parseAbsoluteUrl(url: string): RequestLine | undefined {
  if (!/^https?:\/\//i.test(url)) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const scheme = parsed.protocol === "https:" ? "https" : "http";
  const host = normalizeHost(parsed.hostname);
  if (host === undefined || parsed.username !== "" || parsed.password !== "") return undefined;
  const port = parsed.port === "" ? (scheme === "https" ? 443 : 80) : Number(parsed.port);
  // Keep the path exactly as sent: URL would normalise "%2e%2e" and the like.
  const afterAuthority = url.replace(/^https?:\/\/[^/?#]*/i, "");
  const pathAndQuery = afterAuthority === "" ? "/" : afterAuthority.replace(/#.*$/, "");
  return { target: { host, port, scheme }, pathAndQuery };
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
