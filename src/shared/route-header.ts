// Which header a route may put its token in. A route names any header its API reads the
// key from (x-goog-api-key), but never one that frames the request or steers a proxy: a
// token there would break the request or leak past the route.

/** RFC 9110 token characters: anything else cannot be a field name. */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Request framing, hop-by-hop and routing fields: egress owns these. */
const FORBIDDEN = new Set([
  "host",
  "content-length",
  "content-type",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "forwarded",
  "via",
]);

/** Why `name` cannot carry a route's token, or undefined when it can. */
export function routeHeaderProblem(name: string): string | undefined {
  if (!FIELD_NAME.test(name)) {
    return `"${name}" is not a header name: use letters, digits and "-" (e.g. x-goog-api-key)`;
  }
  const lower = name.toLowerCase();
  if (FORBIDDEN.has(lower) || lower.startsWith("proxy-")) {
    return `"${name}" frames or routes the request and cannot carry a token; name the header the API reads its key from (e.g. x-goog-api-key), or use scheme: Bearer for Authorization`;
  }
  return undefined;
}
