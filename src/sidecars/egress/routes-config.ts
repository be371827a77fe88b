// The routes file egress reads at start, and the routes it resolves from it: which requests
// get which token. The file names each token by environment variable only; the values are
// read from egress's own environment and must never leave this process except in the one
// header a matching request carries upstream.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { BottleError } from "../../shared/errors.js";
import { routeHeaderProblem } from "../../shared/route-header.js";
import { parseWithSchema, parseYamlSource } from "../../shared/yaml-source.js";

// The same lists as a bottle manifest's routes; the routes file is written from those.
export const AUTH_SCHEMES = ["Bearer", "Basic", "token", "x-api-key"] as const;
export type AuthScheme = (typeof AUTH_SCHEMES)[number];
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

const hostname = z
  .string()
  .regex(
    /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/,
    "must be one hostname without port or wildcard, e.g. api.github.com",
  )
  .transform((h) => h.toLowerCase());

const pathPrefix = z
  .string()
  .refine(
    (p) => p.startsWith("/") && !/[\s?#\\]/.test(p) && !p.split("/").includes(".."),
    'must start with "/" and have no spaces, "?", "#", "\\" or ".." (e.g. /v1/)',
  );

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name like EGRESS_TOKEN_0");

const headerName = z
  .string()
  .superRefine((name, ctx) => {
    const problem = routeHeaderProblem(name);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform((name) => name.toLowerCase());

export const RouteEntrySchema = z.strictObject({
  host: hostname,
  /** Path prefixes; "/v1/" matches "/v1/x", "/v1" matches "/v1" and "/v1/x" but not "/v1x". */
  paths: z.array(pathPrefix).min(1, "must list at least one path prefix").default(["/"]),
  methods: z
    .union([z.literal("all"), z.array(z.enum(HTTP_METHODS)).min(1, "must list a method")])
    .default("all"),
  auth: z.discriminatedUnion("scheme", [
    z.strictObject({
      scheme: z.enum(AUTH_SCHEMES),
      /** Name of egress's env var holding the token; for Basic, "user:pass" or its base64. */
      tokenEnv: envName,
    }),
    /** The token is the whole value of `header`, e.g. x-goog-api-key. */
    z.strictObject({ scheme: z.literal("header"), header: headerName, tokenEnv: envName }),
  ]),
});

export const RoutesFileSchema = z.strictObject({
  routes: z.array(RouteEntrySchema),
});

export type RouteEntry = z.infer<typeof RouteEntrySchema>;
export type RoutesFile = z.infer<typeof RoutesFileSchema>;

/** The header a matching request carries instead of the agent's credentials. */
export interface InjectedHeader {
  /** Lowercase: "authorization", "x-api-key" or the route's own header. */
  name: string;
  value: string;
}

/** "header": the token is the whole value of the route's own header. */
export type RouteScheme = AuthScheme | "header";

export interface ResolvedRoute {
  host: string;
  paths: readonly string[];
  methods: readonly string[] | "all";
  scheme: RouteScheme;
  tokenEnv: string;
  header: InjectedHeader;
}

/** What the agent may see of a route: everything but the token. */
export interface PublicRoute {
  host: string;
  paths: string[];
  methods: string[] | "all";
  scheme: RouteScheme;
  /** Only for scheme "header": the header that carries the token. */
  header?: string;
  tokenEnv: string;
}

const ROUTES_HINT = "the routes file is written by claude-bottle when the bottle is prepared";

export async function loadRoutesFile(path: string): Promise<RoutesFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new BottleError(`cannot read the routes file ${path}: ${errorText(cause)}`, {
      cause,
      hint: ROUTES_HINT,
    });
  }
  return parseRoutesFile(text, path);
}

export function parseRoutesFile(text: string, label: string): RoutesFile {
  return parseWithSchema(RoutesFileSchema, parseYamlSource(text, label), label, ROUTES_HINT);
}

// Visible ASCII with inner spaces: anything else could split or corrupt the header line.
const HEADER_SAFE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * Reads every route's token from `env`; throws naming each variable that is unset, empty or
 * unusable in a header. Error messages name variables, never values.
 */
export function resolveRoutes(
  file: RoutesFile,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedRoute[] {
  const problems: string[] = [];
  const routes: ResolvedRoute[] = [];
  for (const entry of file.routes) {
    const { scheme, tokenEnv } = entry.auth;
    const custom = entry.auth.scheme === "header" ? entry.auth.header : undefined;
    const token = env[tokenEnv];
    if (token === undefined || token === "") {
      problems.push(
        `route ${entry.host}: environment variable ${tokenEnv} is unset or empty; egress needs it for the route's token`,
      );
      continue;
    }
    if (!HEADER_SAFE.test(token)) {
      problems.push(
        `route ${entry.host}: environment variable ${tokenEnv} holds characters that cannot be sent in an HTTP header (control characters, non-ASCII, or leading or trailing spaces)`,
      );
      continue;
    }
    routes.push({
      host: entry.host,
      paths: entry.paths,
      methods: entry.methods,
      scheme,
      tokenEnv,
      header:
        custom === undefined
          ? injectedHeader(scheme as AuthScheme, token)
          : { name: custom, value: token },
    });
  }
  if (problems.length > 0) {
    throw new BottleError(problems.join("\n"), {
      hint: "set each variable in the environment of `docker compose up`; Compose passes it to egress by name",
    });
  }
  return routes;
}

function injectedHeader(scheme: AuthScheme, token: string): InjectedHeader {
  switch (scheme) {
    case "x-api-key":
      return { name: "x-api-key", value: token };
    case "Basic":
      // Base64 never contains ":", so "user:pass" is unambiguous and saves users an encoding step.
      return {
        name: "authorization",
        value: `Basic ${token.includes(":") ? Buffer.from(token).toString("base64") : token}`,
      };
    default:
      return { name: "authorization", value: `${scheme} ${token}` };
  }
}

export function publicRoutes(routes: readonly ResolvedRoute[]): PublicRoute[] {
  return routes.map((r) => ({
    host: r.host,
    paths: [...r.paths],
    methods: r.methods === "all" ? "all" : [...r.methods],
    scheme: r.scheme,
    ...(r.scheme === "header" ? { header: r.header.name } : {}),
    tokenEnv: r.tokenEnv,
  }));
}

/**
 * Replaces every secret egress holds (raw tokens and the header values built from them) in
 * `text`: a last guard on anything egress itself writes, error pages and logs alike.
 */
export function secretRedactor(
  routes: readonly ResolvedRoute[],
  env: Readonly<Record<string, string | undefined>>,
): (text: string) => string {
  const secrets = new Set<string>();
  for (const r of routes) {
    const token = env[r.tokenEnv];
    if (token) secrets.add(token);
    secrets.add(r.header.value);
    // The credential after "Bearer ", "Basic "; a header-scheme value is all credential.
    secrets.add(r.header.value.slice(r.header.value.indexOf(" ") + 1));
  }
  // Longest first, so a header value is replaced whole before its token part.
  const ordered = [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => ordered.reduce((out, secret) => out.split(secret).join("[redacted]"), text);
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  return String(error);
}
