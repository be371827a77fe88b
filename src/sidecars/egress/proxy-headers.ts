// Header rewriting for the two legs of a proxied request: hop-by-hop headers stay on their
// hop, and a routed request loses every credential the agent sent before the route's header
// is added. Never log or echo what passes through here.
import type { OutgoingHttpHeaders } from "node:http";
import { endToEndHeaders, headerPairs } from "../../shared/hop-headers.js";
import { codingsIn, DECODABLE_CODINGS } from "./response-scrub.js";
import type { InjectedHeader } from "./routes-config.js";

/** Stripped from routed requests: whatever the agent holds must not reach the API with the token. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "x-api-key",
]);

/**
 * Headers for the upstream request, from the agent's raw headers. With `inject`, the agent's
 * Authorization, Proxy-Authorization and X-Api-Key are dropped and `inject` is set.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  inject: InjectedHeader | undefined,
): OutgoingHttpHeaders {
  // Expect is answered by egress itself: the agent already got its 100 Continue. The agent's
  // Accept-Encoding is replaced below: egress must be able to decode whatever comes back.
  const drop = ["expect", "accept-encoding", ...(inject === undefined ? [] : CREDENTIAL_HEADERS)];
  const out: Record<string, string | string[]> = {};
  for (const [rawName, value] of headerPairs(endToEndHeaders(rawHeaders, drop))) {
    const name = rawName.toLowerCase();
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else out[name] = [previous, value];
  }
  // Node decoded the agent's chunked body; this makes the client re-encode it the same way.
  if (headerPairs(rawHeaders).some(([name]) => name.toLowerCase() === "transfer-encoding")) {
    out["transfer-encoding"] = "chunked";
  }
  out["accept-encoding"] = acceptEncoding(rawHeaders);
  if (inject !== undefined) out[inject.name] = inject.value;
  return out;
}

/**
 * What egress asks the upstream for: the codings the agent accepts that egress can decode
 * (so a response can be checked for route tokens), else identity. An absent Accept-Encoding
 * would mean "any coding" (RFC 9110 12.5.3), so one is always sent.
 */
export function acceptEncoding(rawHeaders: readonly string[]): string {
  const wanted = codingsIn(rawHeaders, "accept-encoding")
    .filter((c) => !/;\s*q\s*=\s*0(\.0*)?\s*$/.test(c))
    .map((c) => (c.split(";")[0] ?? "").trim())
    .filter((c) => (DECODABLE_CODINGS as readonly string[]).includes(c));
  return wanted.length === 0 ? "identity" : [...new Set(wanted)].join(", ");
}

/** The upstream response's headers as a flat raw list for writeHead, minus hop-by-hop ones. */
export function downstreamResponseHeaders(rawHeaders: readonly string[]): string[] {
  return endToEndHeaders(rawHeaders);
}
