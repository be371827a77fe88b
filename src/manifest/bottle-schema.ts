// The front matter of a bottle manifest, as written (snake_case). No defaults here: a key
// left out must stay "unset" so that `extends` can tell it from a value the child chose.
import { z } from "zod";
import { RESERVED_ENV_NAMES } from "../contracts/agent.js";
import { routeHeaderProblem } from "../shared/route-header.js";
import { VERSION } from "../shared/version.js";
import { parseAllowHost, parseAllowIp, parseRouteHost } from "./host-pattern.js";
import { bottleHostPath, bottleName, envKey, hostVarName } from "./manifest-fields.js";
import { MAX_ENV_VALUE_BYTES } from "./manifest-limits.js";
import type { ParseResult } from "./parse-result.js";
import {
  AGENT_PROVIDERS,
  AUTH_SCHEMES,
  DLP_ACTIONS,
  HTTP_METHODS,
  PACKAGE_REGISTRIES,
} from "./resolved-bottle.js";
import { literalSecretKind } from "./secret-shape.js";
import { parseHostKey } from "./ssh-host-key.js";
import { parseSshUrl } from "./ssh-url.js";

/** The image a bottle runs when its manifest names no runtime. */
export const DEFAULT_AGENT_IMAGE = `claude-bottle/agent:${VERSION}`;

/** Set by the bottle itself (proxies, CA trust); a manifest may not override them. */
export { RESERVED_ENV_NAMES };

const NOT_EMPTY = "must list at least one entry, or leave the key out";

/** Runs a hand-written parser as a zod transform, its message becoming the issue. */
function parsedWith<T>(parse: (text: string) => ParseResult<T>) {
  return z.string().transform((text, ctx): T => {
    const result = parse(text);
    if (result.ok) return result.value;
    ctx.addIssue({ code: "custom", message: result.message });
    return z.NEVER;
  });
}

const envValue = z.union(
  [z.string(), z.number(), z.boolean(), z.strictObject({ from_env: hostVarName })],
  { error: "must be a literal (a string, number or boolean) or {from_env: HOST_VARIABLE}" },
);

const envSchema = z.record(envKey, envValue).superRefine((vars, ctx) => {
  for (const [name, value] of Object.entries(vars)) {
    if (RESERVED_ENV_NAMES.includes(name)) {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: "is set by the bottle itself (proxy and CA trust); remove it",
      });
    }
    if (typeof value !== "string") continue;
    const bytes = Buffer.byteLength(value, "utf8");
    if (bytes > MAX_ENV_VALUE_BYTES) {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: `the value is ${bytes} bytes; an environment variable may hold at most ${MAX_ENV_VALUE_BYTES} (Linux will not start a program with a larger one): put the text in a file in the repository and point at it`,
      });
      continue;
    }
    const secret = literalSecretKind(name, value);
    const reference = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value)?.[1];
    if (secret !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: `the value looks like ${secret}; never write secrets in a manifest: export it on the host and write ${name}: {from_env: ${name}}`,
      });
    } else if (reference !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: `"${value}" is not expanded; to pass a host variable write ${name}: {from_env: ${reference}}`,
      });
    }
  }
});

const pathPrefix = z.string().superRefine((path, ctx) => {
  if (!path.startsWith("/") || /[\s?#]/.test(path) || path.split("/").includes("..")) {
    ctx.addIssue({
      code: "custom",
      message: `"${path}" is not a path prefix: it starts with "/" and has no spaces, "?", "#" or ".." (e.g. /v1/)`,
    });
  }
});

const routeSchema = z.strictObject({
  host: parsedWith(parseRouteHost),
  paths: z.array(pathPrefix).min(1, NOT_EMPTY).optional(),
  methods: z.array(z.enum(HTTP_METHODS)).min(1, NOT_EMPTY).optional(),
  auth: z
    .strictObject({
      scheme: z.enum(AUTH_SCHEMES).optional(),
      header: z
        .string()
        .superRefine((name, ctx) => {
          const problem = routeHeaderProblem(name);
          if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
        })
        .transform((name) => name.toLowerCase())
        .optional(),
      token_env: hostVarName,
    })
    .superRefine((auth, ctx) => {
      if ((auth.scheme === undefined) === (auth.header === undefined)) {
        ctx.addIssue({
          code: "custom",
          message:
            "give exactly one of scheme: (Bearer, Basic, token or x-api-key) or header: NAME (the token is the whole value, e.g. header: x-goog-api-key)",
        });
      }
    }),
});

/** A pinned version of an agent program: npm's semver, e.g. 2.1.336 or 0.172.0-alpha.1. */
export const AGENT_VERSION = /^\d{1,6}\.\d{1,6}\.\d{1,6}(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?$/;

const agentProvider = z.enum(AGENT_PROVIDERS, {
  error: `must be one of ${AGENT_PROVIDERS.join(", ")}`,
});

const agentSchema = z.union(
  [
    agentProvider,
    z.strictObject({
      provider: agentProvider,
      version: z
        .string()
        .regex(AGENT_VERSION, "must be a version like 1.2.3 (the npm package's version)")
        .optional(),
    }),
  ],
  {
    error: `must be a provider (${AGENT_PROVIDERS.join(", ")}) or {provider: NAME, version: X.Y.Z}`,
  },
);

/** A whole number of characters from 1 to `max`. */
function labelCount(max: number, why: string) {
  const rule = `must be a whole number from 1 to ${max} (${why})`;
  return z.number({ error: rule }).int(rule).min(1, rule).max(max, rule);
}

const RATE_RULE =
  "must be a number of requests per second above 0, at most 100000 (e.g. 20 or 0.5)";
const BURST_RULE = "must be a whole number of requests from 1 to 1000000";
const perSecond = z.number({ error: RATE_RULE }).gt(0, RATE_RULE).max(100_000, RATE_RULE);
// A refine, not .int(): the int check's own "expected int" would win over the rule.
const burst = z
  .number({ error: BURST_RULE })
  .refine(Number.isInteger, BURST_RULE)
  .min(1, BURST_RULE)
  .max(1_000_000, BURST_RULE);

/** `egress.rate_limit`: requests per second per host, for every host or some of them. */
const rateLimitSchema = z.strictObject({
  per_second: perSecond.optional(),
  burst: burst.optional(),
  hosts: z
    .array(
      z
        .strictObject({
          host: parsedWith(parseAllowHost),
          per_second: perSecond.optional(),
          burst: burst.optional(),
        })
        .superRefine((entry, ctx) => {
          if (entry.per_second === undefined && entry.burst === undefined) {
            ctx.addIssue({
              code: "custom",
              message:
                "give per_second, burst or both for this host (the others come from egress.rate_limit)",
            });
          }
        }),
    )
    .superRefine((entries, ctx) => {
      const first = new Map<string, number>();
      entries.forEach((entry, i) => {
        const earlier = first.get(entry.host.pattern);
        if (earlier === undefined) first.set(entry.host.pattern, i);
        else {
          ctx.addIssue({
            code: "custom",
            path: [i, "host"],
            message: `"${entry.host.pattern}" already has a limit, egress.rate_limit.hosts[${earlier}]; merge them`,
          });
        }
      });
    })
    .optional(),
});

const egressSchema = z.strictObject({
  allow: z.array(parsedWith(parseAllowHost)).optional(),
  allow_ips: z.array(parsedWith(parseAllowIp)).optional(),
  routes: z
    .array(routeSchema)
    .superRefine((routes, ctx) =>
      flagDuplicates(routes, "host", ctx, (host, earlier) => {
        return `"${host}" already has a route, egress.routes[${earlier}]; one route per host: merge them`;
      }),
    )
    .optional(),
  dlp: z.enum(DLP_ACTIONS).optional(),
  wildcard_labels: z
    .strictObject({
      max_length: labelCount(63, "a DNS label holds at most 63 characters").optional(),
      random_min_length: labelCount(253, "a name holds at most 253").optional(),
    })
    .optional(),
  wildcard_names: z
    .number({ error: "must be a whole number of names from 1 to 100000" })
    .refine(Number.isInteger, "must be a whole number of names from 1 to 100000")
    .min(1, "must be a whole number of names from 1 to 100000")
    .max(100_000, "must be a whole number of names from 1 to 100000")
    .optional(),
  rate_limit: rateLimitSchema.optional(),
});

const gitSchema = z
  .array(
    z.strictObject({
      name: z
        .string()
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
          "must be letters, digits, '.', '_' or '-', starting with a letter or digit",
        ),
      url: parsedWith(parseSshUrl),
      identity_file: bottleHostPath,
      known_host_key: parsedWith(parseHostKey),
    }),
  )
  .superRefine((upstreams, ctx) =>
    flagDuplicates(upstreams, "name", ctx, (name, earlier) => {
      return `"${name}" is already the name of git[${earlier}]; give each upstream its own name`;
    }),
  );

const imageName =
  /^(?:[A-Za-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

const runtimeSchema = z
  .strictObject({
    image: z
      .string()
      .regex(imageName, "is not an image name like claude-bottle/agent:1.0 or debian:bookworm")
      .optional(),
    dockerfile: bottleHostPath.optional(),
  })
  .superRefine((runtime, ctx) => {
    if ((runtime.image === undefined) === (runtime.dockerfile === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "give exactly one of image: NAME or dockerfile: PATH",
      });
    }
  });

const BOTTLE_EXTENDS_RULE = "must be a bottle name or a list of bottle names";

export const BottleFileSchema = z.strictObject({
  extends: z
    .union([bottleName, z.array(bottleName).min(1, NOT_EMPTY)], {
      error: BOTTLE_EXTENDS_RULE,
    })
    .optional(),
  env: envSchema.optional(),
  egress: egressSchema.optional(),
  git: gitSchema.optional(),
  registries: z.array(z.enum(PACKAGE_REGISTRIES)).min(1, NOT_EMPTY).optional(),
  supervise: z.boolean().optional(),
  runtime: runtimeSchema.optional(),
  agent: agentSchema.optional(),
});

function flagDuplicates<K extends string, T extends Record<K, string>>(
  entries: readonly T[],
  field: K,
  ctx: z.core.$RefinementCtx,
  describe: (key: string, earlier: number) => string,
): void {
  const first = new Map<string, number>();
  entries.forEach((entry, i) => {
    const key = entry[field];
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, i);
    else ctx.addIssue({ code: "custom", path: [i, field], message: describe(key, earlier) });
  });
}
