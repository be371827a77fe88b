// Which route, if any, a request falls under. Matching fails closed: a path that a server
// might normalise into another one (dot segments, encoded slashes) never gets a token.
import type { ResolvedRoute } from "./routes-config.js";

/** Lower case, without a trailing dot or IPv6 brackets: how hosts are compared. */
export function normalizeHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/\.$/, "")
    .replace(/^\[(.*)\]$/, "$1");
}

export function isRouteHost(routes: readonly ResolvedRoute[], host: string): boolean {
  const wanted = normalizeHost(host);
  return routes.some((r) => r.host === wanted);
}

/**
 * The first route (in file order) whose host, path prefix and method all match, judged on
 * every reading of the path a server might act on (see pathReadings): a path that reads
 * differently under some decoding, or that no reading leaves unambiguous, gets no route.
 */
export function matchRoute(
  routes: readonly ResolvedRoute[],
  request: { host: string; method: string; path: string },
): ResolvedRoute | undefined {
  const host = normalizeHost(request.host);
  const readings = pathReadings(pathWithoutQuery(request.path));
  if (readings === undefined) return undefined;
  const matchOn = (path: string) =>
    routes.find(
      (r) =>
        r.host === host &&
        (r.methods === "all" || r.methods.includes(request.method)) &&
        r.paths.some((prefix) => pathHasPrefix(path, prefix)),
    );
  const route = matchOn(readings[0] as string);
  return readings.every((path) => matchOn(path) === route) ? route : undefined;
}

export function pathWithoutQuery(target: string): string {
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}

/** "/v1/" covers "/v1/…"; "/v1" covers "/v1" and "/v1/…" but not "/v1beta". */
export function pathHasPrefix(path: string, prefix: string): boolean {
  if (prefix.endsWith("/")) return path.startsWith(prefix);
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** How many times a path is percent-decoded before it counts as ambiguous. */
const MAX_DECODINGS = 4;

/**
 * The path as servers might act on it: as sent, each further percent-decoding of it (a
 * proxy or framework in front of the application may decode once more), and each of those
 * with ";params" cut from its segments (Tomcat and Spring do) or folded to NFKC. Undefined when any reading
 * is ambiguous (isAmbiguousPath), holds bytes that are not UTF-8 (overlong forms such as
 * %c0%ae among them), or still changes after MAX_DECODINGS decodings.
 */
export function pathReadings(path: string): string[] | undefined {
  // Raw bytes above ASCII: a client percent-encodes them, and servers disagree on their reading.
  if (/[\u0080-\uffff]/.test(path)) return undefined;
  const readings: string[] = [];
  let current = path;
  for (let round = 0; ; round++) {
    // Compatibility forms too: some servers fold a fullwidth "／" or "．" into "/" or ".".
    const folded = current.normalize("NFKC");
    if (isAmbiguousPath(current) || isAmbiguousPath(folded)) return undefined;
    readings.push(current, folded, withoutSegmentParams(current));
    const decoded = percentDecodeOnce(current);
    if (decoded === undefined) return undefined;
    if (decoded === current) return [...new Set(readings)];
    if (round === MAX_DECODINGS) return undefined;
    current = decoded;
  }
}

/** One round of %XX decoding; a "%" not followed by two hex digits stays as it is. */
export function percentDecodeOnce(text: string): string | undefined {
  if (!text.includes("%")) return text;
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(/%[0-9A-Fa-f]{2}/g)) {
    parts.push(Buffer.from(text.slice(last, m.index), "utf8"));
    parts.push(Buffer.from([Number.parseInt(m[0].slice(1), 16)]));
    last = m.index + 3;
  }
  parts.push(Buffer.from(text.slice(last), "utf8"));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(parts));
  } catch {
    return undefined;
  }
}

function withoutSegmentParams(path: string): string {
  return path
    .split("/")
    .map((segment) => segment.split(";")[0] ?? "")
    .join("/");
}

/**
 * True when servers could resolve `path` to something its text does not show: "." or ".."
 * segments (also percent-encoded, or followed by ";params"), an empty segment ("//"),
 * encoded "/" or "\", a backslash, a NUL or another control character.
 */
export function isAmbiguousPath(path: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point.
  if (!path.startsWith("/") || /\\|%2f|%5c|%00|[\x00-\x1f\x7f]/i.test(path)) return true;
  if (path.includes("//")) return true;
  return path.split("/").some((segment) => {
    const name = (segment.split(";")[0] ?? "").replace(/%2e/gi, ".");
    return name === "." || name === "..";
  });
}
