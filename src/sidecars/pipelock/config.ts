// pipelock's policy file (/etc/pipelock.yaml), written by the CLI when a bottle is prepared and
// rewritten to change the policy live. Secret values are never in it: only the names of the
// env vars pipelock reads them from.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { PIPELOCK_DEFAULT_MAX_BODY_BYTES } from "../../contracts/pipelock.js";
import { InputError } from "../../shared/errors.js";
import { parseWithSchema, parseYamlSource } from "../../shared/yaml-source.js";
import { parseAllowPattern } from "./allowlist.js";

const allowPattern = z.string().superRefine((text, ctx) => {
  const parsed = parseAllowPattern(text);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.message });
});

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name like GITHUB_TOKEN");

/** A secret's env var name, alone or with the hosts it may be sent to (its own service). */
const secretEnvEntry = z.union([
  envName,
  z.strictObject({ env: envName, hosts: z.array(allowPattern).default([]) }),
]);

/**
 * The labels a "*.domain" rule admits (and every label of a DNS-over-HTTPS question): at most
 * 40 characters each (enough for names like github-production-release-asset-2e65be), and
 * judged for randomness from 16 letters and digits on, where a base32 or hex blob carries a
 * useful secret. docs/manifests.md explains both.
 */
export const DEFAULT_WILDCARD_LABELS = { maxLength: 40, randomMinLength: 16 } as const;

/**
 * Distinct names a bottle may use under each "*.domain" rule (name-budget.ts): enough for the
 * few mirrors or buckets a service spreads over, far too few to spell a secret one name at a
 * time.
 */
export const DEFAULT_WILDCARD_NAMES = 32;

/**
 * Requests per second per host (rate-limit.ts), and how many may come at once: an npm install
 * of hundreds of packages fits in the burst, and a model session never nears the rate.
 */
export const DEFAULT_RATE_LIMIT = { perSecond: 20, burst: 1000 } as const;

const perSecond = z.number().positive().max(100_000);
const burst = z.number().int().min(1).max(1_000_000);

export const PipelockConfigSchema = z.strictObject({
  /** "api.github.com", "*.githubusercontent.com", "api.example.test:8443", "203.0.113.7", "[2001:db8::1]:443". */
  allow: z.array(allowPattern).default([]),
  /**
   * Hosts reached read-only (patterns as in `allow`; a host must be allowed too): only GET and
   * HEAD pass, without protocol upgrades; DLP scans them like any request. For package
   * registries, which anyone can read and a bottle must not write to.
   */
  readOnly: z.array(allowPattern).default([]),
  dlp: z
    .strictObject({
      /** block: 403 and audit; warn: pass and audit. */
      action: z.enum(["block", "warn"], { error: 'must be "block" or "warn"' }).default("block"),
      /** Env vars (of pipelock's own environment) holding the bottle's secret values. */
      secretEnv: z.array(secretEnvEntry).default([]),
    })
    .default({ action: "block", secretEnv: [] }),
  wildcardLabels: z
    .strictObject({
      maxLength: z.number().int().min(1).max(63).default(DEFAULT_WILDCARD_LABELS.maxLength),
      randomMinLength: z
        .number()
        .int()
        .min(1)
        .max(253)
        .default(DEFAULT_WILDCARD_LABELS.randomMinLength),
    })
    .default(DEFAULT_WILDCARD_LABELS),
  wildcardNames: z.number().int().min(1).max(100_000).default(DEFAULT_WILDCARD_NAMES),
  rateLimit: z
    .strictObject({
      perSecond: perSecond.default(DEFAULT_RATE_LIMIT.perSecond),
      burst: burst.default(DEFAULT_RATE_LIMIT.burst),
      /** Per-host limits, matched like `allow` (an exact host before a wildcard). */
      hosts: z.array(z.strictObject({ pattern: allowPattern, perSecond, burst })).default([]),
    })
    .default({ ...DEFAULT_RATE_LIMIT, hosts: [] }),
  /** Larger request bodies (and WebSocket messages) are refused with 413. */
  maxBodyBytes: z.number().int().positive().default(PIPELOCK_DEFAULT_MAX_BODY_BYTES),
  /**
   * deny: a name that resolves to a private, loopback or link-local address is refused
   * (an allowlisted IP literal is not affected). allow: for local stand-in upstreams.
   */
  privateUpstreams: z
    .enum(["deny", "allow"], { error: 'must be "deny" or "allow"' })
    .default("deny"),
  /** Only changes what a 403 tells the agent to do. */
  supervise: z.strictObject({ enabled: z.boolean().default(false) }).default({ enabled: false }),
  /** JSON Lines file, appended to; stdout when absent. Read at start only. */
  auditLog: z.string().min(1).optional(),
});

/** What the file may say (defaults omitted), e.g. for a renderer building one. */
export type PipelockConfigInput = z.input<typeof PipelockConfigSchema>;
export type PipelockConfig = z.output<typeof PipelockConfigSchema>;

const HINT = "fix pipelock's policy file; the previous policy stays in force until it parses";

export function parsePipelockConfig(text: string, label: string): PipelockConfig {
  return parseWithSchema(PipelockConfigSchema, parseYamlSource(text, label), label, HINT);
}

export async function loadPipelockConfig(path: string): Promise<PipelockConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new InputError(`cannot read pipelock's policy file ${path}`, {
      cause: error,
      hint: "check the --config path and that the file is mounted",
    });
  }
  // An empty file is an empty policy (deny all), not an error.
  return parsePipelockConfig(text.trim() === "" ? "{}" : text, path);
}
