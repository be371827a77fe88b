// The fully resolved plan of one Docker bottle: everything the Compose renderer needs,
// decided ahead of time (slug, names, host paths of staged files). The zod schemas are
// the single source of both the TypeScript types and the validation of plan files.
import { z } from "zod";
import { agentContainerName, bottleNetworkName, RESERVED_ENV_NAMES } from "../contracts/agent.js";
import { AGENT_PROVIDERS } from "../manifest/resolved-bottle.js";
import { routeHeaderProblem } from "../shared/route-header.js";

const nonEmpty = z.string().min(1, "must not be empty");
/** Host paths must be absolute: Compose resolves relative ones against the compose file. */
const hostPath = nonEmpty.refine((p) => p.startsWith("/"), "must be an absolute path");
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name like GITHUB_TOKEN");
const slug = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,47}$/,
    "must be lowercase letters, digits and dashes (at most 48), starting with a letter or digit",
  );
const ipAddress = z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" });
const hostname = z
  .string()
  .regex(
    /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/,
    "must be a hostname like github.com",
  );

export const ProxyPlanSchema = z.strictObject({
  internalNetwork: nonEmpty,
  egressNetwork: nonEmpty,
  /** pipelock's rendered policy file on the host. */
  configPath: hostPath,
  caCertHostPath: hostPath,
  caKeyHostPath: hostPath,
  /** Env names (inside pipelock) holding the bottle's known secrets, for DLP. */
  secretEnv: z.array(envName).default([]),
  /** Extra CA bundle pipelock trusts for upstream TLS (private CAs, local test upstreams). */
  upstreamCaPath: hostPath.nullable().default(null),
});

export const GitUpstreamSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be letters, digits, '.', '_' or '-'"),
  url: z.string().regex(/^ssh:\/\/[^\s]+$/, "must be an ssh:// URL"),
  identityFile: hostPath,
  /** The pinned host key line, e.g. "ssh-ed25519 AAAA…". */
  knownHostKey: nonEmpty,
  /** hostname → IP pinned into the gate's /etc/hosts. */
  extraHosts: z.record(hostname, ipAddress).default({}),
});

export const GitGatePlanSchema = z.strictObject({
  upstreams: z.array(GitUpstreamSchema).default([]),
  entrypointScript: hostPath,
  hookScript: hostPath,
  accessHookScript: hostPath,
  /** The upstream list the gate reads (names, URLs, pinned host keys; never keys). */
  upstreamsConfigPath: hostPath,
  /** Directory of approved gitleaks fingerprints; a directory so live edits are seen. */
  allowlistDir: hostPath,
});

/** A header that carries a route's token as its whole value (see routeHeaderProblem). */
const routeHeader = z.string().superRefine((name, ctx) => {
  const problem = routeHeaderProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  else if (name !== name.toLowerCase())
    ctx.addIssue({ code: "custom", message: "must be lowercase" });
});

export const EgressRouteSchema = z.strictObject({
  host: hostname,
  pathPrefixes: z.array(z.string().startsWith("/", "must start with /")).default(["/"]),
  methods: z.array(z.string().regex(/^[A-Z]+$/, "must be an uppercase HTTP method")).default([]),
  auth: z.discriminatedUnion("scheme", [
    z.strictObject({
      scheme: z.enum(["Bearer", "Basic", "token", "x-api-key"]),
      tokenEnv: envName,
    }),
    z.strictObject({ scheme: z.literal("header"), header: routeHeader, tokenEnv: envName }),
  ]),
});

const packagePath = nonEmpty.refine(
  (p) => !p.startsWith("/") && !p.split("/").includes("..") && /^[A-Za-z0-9@._/+-]+$/.test(p),
  "must be a relative path inside the package",
);

/** The agent program's package from the host's cache, mounted read-only into the agent. */
export const AgentPackagePlanSchema = z.strictObject({
  version: nonEmpty,
  /** The unpacked npm package on the host. */
  hostDir: hostPath,
  /** The program inside the package, relative to its root ("claude", "bundle/gemini.js"). */
  binary: packagePath,
  /** "node": a JavaScript entry the container's node runs; null: a native executable. */
  interpreter: z.literal("node").nullable().default(null),
  /** Package directories put on the program's PATH. */
  pathDirs: z.array(packagePath).default([]),
});

export const EgressPlanSchema = z.strictObject({
  routes: z.array(EgressRouteSchema).default([]),
  /** Env name inside egress → host env name its value is read from at `up`. */
  tokenEnvMap: z.record(envName, envName).default({}),
  routesPath: hostPath,
  caCertHostPath: hostPath,
  caKeyHostPath: hostPath,
  pipelockCaHostPath: hostPath,
  pipelockProxyUrl: z.url({ protocol: /^https?$/, error: "must be an http:// URL" }),
});

export const SupervisePlanSchema = z.strictObject({
  /** Read-write on the host: proposals, answers and the audit log. */
  queueDir: hostPath,
  /** The bottle's current policy as the agent may read it. */
  currentConfigDir: hostPath,
});

export const DockerBottlePlanSchema = z
  .strictObject({
    slug,
    /** The agent's container name. */
    containerName: nonEmpty,
    runtimeImage: nonEmpty,
    /** The agent program the bottle runs (src/agents/). */
    agentProvider: z.enum(AGENT_PROVIDERS).default("claude"),
    /** Null: not in the cache; the bottle starts without it (an --exec run needs none). */
    agentPackage: AgentPackagePlanSchema.nullable().default(null),
    useRunsc: z.boolean().default(false),
    /** Literal env for the agent, written by prepare; used only when it exists and is non-empty. */
    envFile: hostPath.nullable().default(null),
    /** Host env names passed through to the agent by name (values never in the file). */
    forwardedEnv: z.array(envName).default([]),
    /** The claude-bottle home that owns the bottle; `list` and `cleanup` see only their own. */
    home: hostPath,
    /** Build context of the sidecar Dockerfiles: the claude-bottle package root. */
    buildContext: hostPath,
    proxyPlan: ProxyPlanSchema,
    gitGatePlan: GitGatePlanSchema,
    egressPlan: EgressPlanSchema,
    supervisePlan: SupervisePlanSchema.nullable().default(null),
  })
  .superRefine((plan, ctx) => {
    // Every command finds a bottle's parts by these names; another name (Docker's own "host"
    // or "bridge", another bottle's) would join or create what the plan does not own.
    const named: [(string | number)[], string, string][] = [
      [["containerName"], plan.containerName, agentContainerName(plan.slug)],
      [
        ["proxyPlan", "internalNetwork"],
        plan.proxyPlan.internalNetwork,
        bottleNetworkName(plan.slug, "internal"),
      ],
      [
        ["proxyPlan", "egressNetwork"],
        plan.proxyPlan.egressNetwork,
        bottleNetworkName(plan.slug, "egress"),
      ],
    ];
    for (const [path, actual, expected] of named) {
      // A bad slug is its own issue: names derived from it would only repeat it.
      if (slug.safeParse(plan.slug).success && actual !== expected) {
        ctx.addIssue({
          code: "custom",
          path,
          message: `must be "${expected}" for slug "${plan.slug}", the name every command finds it by; got ${JSON.stringify(actual)}`,
        });
      }
    }
    plan.forwardedEnv.forEach((name, i) => {
      if (RESERVED_ENV_NAMES.includes(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["forwardedEnv", i],
          message: `"${name}" is set by the bottle itself (proxy and CA trust); the host may not override it: remove it`,
        });
      }
    });
    const seen = new Set<string>();
    plan.gitGatePlan.upstreams.forEach((u, i) => {
      if (seen.has(u.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["gitGatePlan", "upstreams", i, "name"],
          message: `duplicate upstream name "${u.name}"; each upstream needs its own name`,
        });
      }
      seen.add(u.name);
    });
    const pinned = new Map<string, string>();
    plan.gitGatePlan.upstreams.forEach((u, i) => {
      for (const [host, ip] of Object.entries(u.extraHosts)) {
        const other = pinned.get(host);
        if (other !== undefined && other !== ip) {
          ctx.addIssue({
            code: "custom",
            path: ["gitGatePlan", "upstreams", i, "extraHosts", host],
            message: `pins ${host} to ${ip}, but another upstream pins it to ${other}`,
          });
        }
        pinned.set(host, ip);
      }
    });
    plan.egressPlan.routes.forEach((r, i) => {
      if (!(r.auth.tokenEnv in plan.egressPlan.tokenEnvMap)) {
        ctx.addIssue({
          code: "custom",
          path: ["egressPlan", "routes", i, "auth", "tokenEnv"],
          message: `"${r.auth.tokenEnv}" is not a key of egressPlan.tokenEnvMap`,
        });
      }
    });
  });

export type ProxyPlan = z.infer<typeof ProxyPlanSchema>;
export type GitUpstream = z.infer<typeof GitUpstreamSchema>;
export type GitGatePlan = z.infer<typeof GitGatePlanSchema>;
export type EgressRoute = z.infer<typeof EgressRouteSchema>;
export type EgressPlan = z.infer<typeof EgressPlanSchema>;
export type SupervisePlan = z.infer<typeof SupervisePlanSchema>;
export type AgentPackagePlan = z.infer<typeof AgentPackagePlanSchema>;
export type DockerBottlePlan = z.infer<typeof DockerBottlePlanSchema>;
