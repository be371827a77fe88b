// Header rewriting for the two legs of a proxied request: hop-by-hop headers stay on their
// hop, and a routed request loses every credential the agent sent before the route's header
// is added. Never log or echo what passes through here.
import type { OutgoingHttpHeaders } from "node:http";
import type { InjectedHeader } from "./routes-config.js";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Stripped from routed requests: whatever the agent holds must not reach the API with the token. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "x-api-key",
]);

/** Names listed in Connection are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed(rawHeaders: readonly string[]): Set<string> {
  const listed = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() !== "connection") continue;
    for (const token of (rawHeaders[i + 1] ?? "").split(",")) {
      const name = token.trim().toLowerCase();
      if (name !== "") listed.add(name);
    }
  }
  return listed;
}

/**
 * Headers for the upstream request, from the agent's raw headers. With `inject`, the agent's
 * Authorization, Proxy-Authorization and X-Api-Key are dropped and `inject` is set.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  inject: InjectedHeader | undefined,
): OutgoingHttpHeaders {
  const listed = connectionListed(rawHeaders);
  const out: Record<string, string | string[]> = {};
  let chunked = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? "").toLowerCase();
    const value = rawHeaders[i + 1] ?? "";
    if (name === "transfer-encoding") chunked = true;
    // Expect is answered by egress itself: the agent already got its 100 Continue.
    if (HOP_BY_HOP.has(name) || listed.has(name) || name === "expect") continue;
    if (inject !== undefined && CREDENTIAL_HEADERS.has(name)) continue;
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else out[name] = [previous, value];
  }
  // Node decoded the agent's chunked body; this makes the client re-encode it the same way.
  if (chunked) out["transfer-encoding"] = "chunked";
  if (inject !== undefined) out[inject.name] = inject.value;
  return out;
}

/** The upstream response's headers as a flat raw list for writeHead, minus hop-by-hop ones. */
export function downstreamResponseHeaders(rawHeaders: readonly string[]): string[] {
  const listed = connectionListed(rawHeaders);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? "";
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    out.push(name, rawHeaders[i + 1] ?? "");
  }
  return out;
}
