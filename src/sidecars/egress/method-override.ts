// Requests that ask the server to act as another method or on another path than the request
// line shows: X-HTTP-Method-Override and kin, a "_method" query or form parameter (Rails,
// Laravel, Express's method-override), X-Original-URL and X-Rewrite-URL (IIS, Symfony). A
// route is judged on what the upstream will act on, so a routed request may carry them only
// when the route would give its token to every method they name; path overrides never.
import { headerPairs } from "../../shared/hop-headers.js";
import { matchRoute, percentDecodeOnce } from "./route-match.js";
import type { ResolvedRoute } from "./routes-config.js";

export const METHOD_OVERRIDE_HEADERS: ReadonlySet<string> = new Set([
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
]);

export const PATH_OVERRIDE_HEADERS: ReadonlySet<string> = new Set([
  "x-original-url",
  "x-rewrite-url",
]);

/** Where an override came from and the method it names (upper case). */
export interface MethodOverride {
  where: string;
  method: string;
}

/** Every method the request's override headers and "_method" query parameters name. */
export function methodOverrides(rawHeaders: readonly string[], target: string): MethodOverride[] {
  const found: MethodOverride[] = [];
  for (const [rawName, value] of headerPairs(rawHeaders)) {
    const name = rawName.toLowerCase();
    if (!METHOD_OVERRIDE_HEADERS.has(name)) continue;
    for (const method of value.split(",")) {
      found.push({ where: `the ${rawName} header`, method: method.trim().toUpperCase() });
    }
  }
  const query = queryOf(target);
  if (query !== "") found.push(...formMethodOverrides(query, "query"));
  return found;
}

/**
 * "_method" parameters in urlencoded text (a query or a form body): keys are decoded
 * repeatedly and compared without case, so "%5Fmethod" and "_METHOD" count. A key that
 * cannot be decoded counts as an override of an unknown method, so it is refused too.
 */
export function formMethodOverrides(text: string, where: string): MethodOverride[] {
  const found: MethodOverride[] = [];
  for (const pair of text.split(/[&;]/)) {
    const eq = pair.indexOf("=");
    const key = decodeFully(eq === -1 ? pair : pair.slice(0, eq));
    if (key !== undefined && key.trim().toLowerCase() !== "_method") continue;
    const value = key === undefined ? undefined : decodeFully(eq === -1 ? "" : pair.slice(eq + 1));
    found.push({
      where: `a _method ${where} parameter`,
      method: value === undefined ? "(unreadable)" : value.trim().toUpperCase(),
    });
  }
  return found;
}

/** Why egress will not send this request with `route`'s token, or undefined. */
export function overrideProblem(
  routes: readonly ResolvedRoute[],
  route: ResolvedRoute,
  request: { host: string; path: string; rawHeaders: readonly string[] },
): string | undefined {
  for (const [rawName] of headerPairs(request.rawHeaders)) {
    if (PATH_OVERRIDE_HEADERS.has(rawName.toLowerCase())) {
      return `egress does not send a route's token with a ${rawName} header: it would let the server act on a path the route was not matched on`;
    }
  }
  return methodProblem(routes, route, request, methodOverrides(request.rawHeaders, request.path));
}

/** Why the methods in `overrides` would widen `route`, or undefined. */
export function methodProblem(
  routes: readonly ResolvedRoute[],
  route: ResolvedRoute,
  request: { host: string; path: string },
  overrides: readonly MethodOverride[],
): string | undefined {
  for (const { where, method } of overrides) {
    const same = matchRoute(routes, { host: request.host, method, path: request.path });
    if (same !== route) {
      return `the request asks for ${JSON.stringify(method.slice(0, 40))} by ${where}; the route for ${route.host} (${route.tokenEnv}) does not give its token to that method`;
    }
  }
  return undefined;
}

function queryOf(target: string): string {
  const hash = target.indexOf("#");
  const beforeFragment = hash === -1 ? target : target.slice(0, hash);
  const start = beforeFragment.indexOf("?");
  return start === -1 ? "" : beforeFragment.slice(start + 1);
}

function decodeFully(text: string): string | undefined {
  let current = text.replace(/\+/g, " ");
  for (let round = 0; round < 5; round++) {
    const next = percentDecodeOnce(current);
    if (next === undefined) return undefined;
    if (next === current) return current;
    current = next;
  }
  return undefined;
}
