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

/** The first route (in file order) whose host, path prefix and method all match. */
export function matchRoute(
  routes: readonly ResolvedRoute[],
  request: { host: string; method: string; path: string },
): ResolvedRoute | undefined {
  const host = normalizeHost(request.host);
  const path = pathWithoutQuery(request.path);
  if (isAmbiguousPath(path)) return undefined;
  return routes.find(
    (r) =>
      r.host === host &&
      (r.methods === "all" || r.methods.includes(request.method)) &&
      r.paths.some((prefix) => pathHasPrefix(path, prefix)),
  );
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

/**
 * True when servers could resolve `path` to something its text does not show: "." or ".."
 * segments (also percent-encoded, or followed by ";params"), encoded "/" or "\", a
 * backslash, or a NUL.
 */
export function isAmbiguousPath(path: string): boolean {
  if (!path.startsWith("/") || /\\|%2f|%5c|%00/i.test(path)) return true;
  return path.split("/").some((segment) => {
    const name = (segment.split(";")[0] ?? "").replace(/%2e/gi, ".");
    return name === "." || name === "..";
  });
}
