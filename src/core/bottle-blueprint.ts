// Turns a resolved agent (manifests folded, validated) into everything a Docker bottle
// needs, decided ahead of time: the DockerBottlePlan (names, slug, paths under the state
// directory) and the contents of every file prepare will stage. Pure: the slug's random
// suffix, the state root and the host environment come in as parameters.
import { join } from "node:path";
import type { AgentPackage } from "../agents/agent-package.js";
import { agentProviderModule } from "../agents/registry.js";
import { agentContainerName, bottleNetworkName } from "../contracts/agent.js";
import { pipelockProxyUrl } from "../contracts/pipelock.js";
import type { RegistryEndpoint } from "../manifest/registry-endpoints.js";
import type { BottleRateLimit, ResolvedAgent } from "../manifest/resolved-bottle.js";
import type { PipelockConfigInput } from "../sidecars/pipelock/config.js";
import type { AgentPackagePlan, DockerBottlePlan } from "./bottle-plan.js";
import { stateRootOf } from "./state-layout.js";

export interface BlueprintOptions {
  /** Random hex that makes the slug unique per instance, e.g. "7f3a". */
  suffix: string;
  /** The claude-bottle home; its state/ holds the bottle's state directory. */
  home: string;
  /** Package root: the build context of the sidecar images. */
  buildContext: string;
  useRunsc: boolean;
  /**
   * The agent program's package in the host's cache, mounted read-only into the agent;
   * absent or null when it is not cached (the bottle starts without it).
   */
  agentPackage?: AgentPackage | null;
  /**
   * Let allowlisted names resolve to private addresses (CLAUDE_BOTTLE_ALLOW_PRIVATE_UPSTREAMS=1):
   * for upstreams on the local network, and local stand-ins in tests and the demo.
   */
  allowPrivateUpstreams: boolean;
  /** Extra CA bundle pipelock trusts upstream (CLAUDE_BOTTLE_UPSTREAM_CA), or null. */
  upstreamCaPath: string | null;
  /**
   * The bottle's package registries as the host's configuration places them (see
   * resolveRegistries); absent: none. Their hosts are allowed read-only.
   */
  registries?: readonly RegistryEndpoint[];
}

/** pipelock's policy file as a bottle starts it: every section present. */
export type PipelockPolicy = PipelockConfigInput & {
  allow: string[];
  /** Allowed hosts reached only with GET and HEAD: the package registries. */
  readOnly: string[];
  dlp: {
    action: "block" | "warn";
    secretEnv: NonNullable<NonNullable<PipelockConfigInput["dlp"]>["secretEnv"]>;
  };
  privateUpstreams: "deny" | "allow";
  supervise: { enabled: boolean };
  wildcardLabels: { maxLength: number; randomMinLength: number };
  wildcardNames: number;
  rateLimit: {
    perSecond: number;
    burst: number;
    hosts: { pattern: string; perSecond: number; burst: number }[];
  };
};

export interface BottleBlueprint {
  plan: DockerBottlePlan;
  agent: ResolvedAgent;
  stateDir: string;
  /**
   * Env of `docker compose up`: name as the containers see it → the host variable it is
   * read from at start. Values are never written anywhere.
   */
  composeEnvSources: Record<string, string>;
  /** Literal (non-secret) env for the agent, staged in the env file. */
  agentEnvLiterals: Record<string, string>;
  /** What pipelock enforces; staged as its policy file. */
  pipelockPolicy: PipelockPolicy;
  /** The package registries the agent reads, read-only (`registries:`). */
  registries: RegistryEndpoint[];
}

export function makeSlug(agentName: string, suffix: string): string {
  const base = agentName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    // A slug is at most 48: 38, a dash and an 8-digit suffix.
    .slice(0, 38);
  return `${base === "" ? "bottle" : base}-${suffix}`;
}

export function planBottle(agent: ResolvedAgent, options: BlueprintOptions): BottleBlueprint {
  const bottle = agent.bottle;
  const registries = checkedRegistries(agent, options);
  const slug = makeSlug(agent.name, options.suffix);
  const stateDir = join(stateRootOf(options.home), slug);
  // One record, filled in this order: forwarded values, route token slots, DLP's copies.
  const { composeEnvSources, agentEnvLiterals, forwardedEnv } = agentEnvOf(bottle, registries);
  const { tokenEnvMap, slotOf } = routeTokenSlots(bottle, composeEnvSources);
  const { secretEnv, dlpSecrets } = dlpSecretsOf(bottle, composeEnvSources);
  // The registries' clients point at the hosts allowed for them, whatever env says.
  const readOnly = [...new Set(registries.flatMap((r) => r.hosts))];
  const plan = dockerPlanOf(agent, options, {
    slug,
    stateDir,
    forwardedEnv,
    secretEnv,
    tokenEnvMap,
    slotOf,
  });
  return {
    plan,
    agent,
    stateDir,
    composeEnvSources,
    agentEnvLiterals,
    pipelockPolicy: {
      // Route hosts are reached through egress, whose outbound leg pipelock still checks.
      allow: [...new Set([...bottle.egress.allow.map((rule) => rule.pattern), ...readOnly])],
      // A registry host is read-only even when egress.allow names it too: fail closed.
      readOnly,
      dlp: { action: bottle.egress.dlp, secretEnv: dlpSecrets },
      privateUpstreams: options.allowPrivateUpstreams ? "allow" : "deny",
      supervise: { enabled: bottle.supervise },
      wildcardLabels: { ...bottle.egress.wildcardLabels },
      wildcardNames: bottle.egress.wildcardNames,
      rateLimit: rateLimitPolicy(bottle.egress.rateLimit),
    },
    registries,
  };
}

/** The options' package and registries, checked against the bottle they are for. */
function checkedRegistries(agent: ResolvedAgent, options: BlueprintOptions) {
  const bottle = agent.bottle;
  if (options.agentPackage && options.agentPackage.provider !== bottle.agent) {
    throw new Error(
      `planBottle: a ${options.agentPackage.provider} package for a ${bottle.agent} bottle`,
    );
  }
  const registries = [...(options.registries ?? [])];
  const named = bottle.registries ?? [];
  if (
    registries.length !== named.length ||
    registries.some((endpoint, i) => endpoint.registry !== named[i])
  ) {
    throw new Error(
      `planBottle: registries ${registries.map((r) => r.registry).join(",")} for a bottle naming ${named.join(",")}`,
    );
  }
  return registries;
}

/**
 * The agent's environment: literals as they are, host values forwarded (Compose fills them
 * from its own environment), and the registries' settings, which replace a forwarded one.
 */
function agentEnvOf(bottle: ResolvedAgent["bottle"], registries: RegistryEndpoint[]) {
  const composeEnvSources: Record<string, string> = {};
  const agentEnvLiterals: Record<string, string> = {};
  const forwardedEnv: string[] = [];
  for (const [name, value] of Object.entries(bottle.env)) {
    if (value.kind === "literal") {
      agentEnvLiterals[name] = value.value;
    } else {
      forwardedEnv.push(name);
      composeEnvSources[name] = value.hostName;
    }
  }
  for (const endpoint of registries) {
    for (const [name, value] of Object.entries(endpoint.agentEnv)) {
      agentEnvLiterals[name] = value;
      const forwarded = forwardedEnv.indexOf(name);
      if (forwarded !== -1) {
        forwardedEnv.splice(forwarded, 1);
        delete composeEnvSources[name];
      }
    }
  }
  return { composeEnvSources, agentEnvLiterals, forwardedEnv };
}

/** Route tokens live only in egress, under slot names; the agent never sees them. */
function routeTokenSlots(
  bottle: ResolvedAgent["bottle"],
  composeEnvSources: Record<string, string>,
) {
  const tokenEnvMap: Record<string, string> = {};
  const slotOf = new Map<string, string>();
  for (const route of bottle.egress.routes) {
    const host = route.auth.tokenEnv;
    if (!slotOf.has(host)) {
      const slot = `EGRESS_TOKEN_${slotOf.size}`;
      slotOf.set(host, slot);
      tokenEnvMap[slot] = host;
      composeEnvSources[slot] = host;
    }
  }
  return { tokenEnvMap, slotOf };
}

/**
 * DLP knows every secret the bottle holds: forwarded host values and route tokens. A route's
 * token may go to its route's host (egress puts it there); nowhere else.
 */
function dlpSecretsOf(bottle: ResolvedAgent["bottle"], composeEnvSources: Record<string, string>) {
  const secretHostVars = [...new Set(Object.values(composeEnvSources))].sort();
  const secretEnv = secretHostVars.map((_, i) => `PIPELOCK_SECRET_${i}`);
  const dlpSecrets = secretHostVars.map((hostVar, i) => {
    const env = `PIPELOCK_SECRET_${i}`;
    composeEnvSources[env] = hostVar;
    const hosts = [
      ...new Set(
        bottle.egress.routes.filter((r) => r.auth.tokenEnv === hostVar).map((r) => r.host),
      ),
    ];
    return hosts.length === 0 ? env : { env, hosts };
  });
  return { secretEnv, dlpSecrets };
}

/** Every name and host path of the bottle, resolved. */
function dockerPlanOf(
  agent: ResolvedAgent,
  options: BlueprintOptions,
  o: {
    slug: string;
    stateDir: string;
    forwardedEnv: string[];
    secretEnv: string[];
    tokenEnvMap: Record<string, string>;
    slotOf: Map<string, string>;
  },
): DockerBottlePlan {
  const bottle = agent.bottle;
  const { slug, forwardedEnv, secretEnv, tokenEnvMap, slotOf } = o;
  const at = (...parts: string[]) => join(o.stateDir, ...parts);
  return {
    slug,
    containerName: agentContainerName(slug),
    runtimeImage: runtimeImageOf(agent),
    agentProvider: bottle.agent,
    agentPackage: agentPackagePlan(options.agentPackage ?? null),
    useRunsc: options.useRunsc,
    envFile: at("agent", "agent.env"),
    forwardedEnv: forwardedEnv.sort(),
    home: options.home,
    buildContext: options.buildContext,
    proxyPlan: {
      internalNetwork: bottleNetworkName(slug, "internal"),
      egressNetwork: bottleNetworkName(slug, "egress"),
      configPath: at("pipelock", "pipelock.yaml"),
      caCertHostPath: at("pipelock", "ca.pem"),
      caKeyHostPath: at("pipelock", "ca-key.pem"),
      secretEnv,
      upstreamCaPath: options.upstreamCaPath,
    },
    gitGatePlan: {
      upstreams: bottle.git.map((u) => ({
        name: u.name,
        url: u.url,
        identityFile: u.identityFile,
        knownHostKey: u.knownHostKey.line,
        extraHosts: {},
      })),
      entrypointScript: at("git-gate", "entrypoint.sh"),
      hookScript: at("git-gate", "pre-receive"),
      accessHookScript: at("git-gate", "access-hook"),
      upstreamsConfigPath: at("git-gate", "upstreams.json"),
      allowlistDir: at("git-gate", "allow"),
    },
    egressPlan: {
      routes: bottle.egress.routes.map((r) => ({
        host: r.host,
        pathPrefixes: r.paths,
        methods: r.methods === "all" ? [] : [...r.methods],
        auth: { ...r.auth, tokenEnv: slotOf.get(r.auth.tokenEnv) ?? "" },
      })),
      tokenEnvMap,
      routesPath: at("egress", "routes.yaml"),
      caCertHostPath: at("egress", "ca.pem"),
      caKeyHostPath: at("egress", "ca-key.pem"),
      pipelockCaHostPath: at("pipelock", "ca.pem"),
      pipelockProxyUrl: pipelockProxyUrl(slug),
    },
    supervisePlan: bottle.supervise
      ? { queueDir: at("supervise", "queue"), currentConfigDir: at("supervise", "current") }
      : null,
  };
}

/** pipelock's rate limits: what a host entry leaves unset comes from the bottle-wide one. */
function rateLimitPolicy(rate: BottleRateLimit): PipelockPolicy["rateLimit"] {
  return {
    perSecond: rate.perSecond,
    burst: rate.burst,
    hosts: rate.hosts.map((h) => ({
      pattern: h.pattern,
      perSecond: h.perSecond ?? rate.perSecond,
      burst: h.burst ?? rate.burst,
    })),
  };
}

/**
 * A bottle's own Dockerfile is built under a tag named for the bottle, shared by its
 * instances. The built-in image holds no agent program: that is mounted from the cache.
 */
export function runtimeImageOf(agent: ResolvedAgent): string {
  const runtime = agent.bottle.runtime;
  if (runtime.kind === "dockerfile") return `claude-bottle/agent-${agent.bottle.name}:local`;
  return runtime.image;
}

/** What the plan keeps of a cached package. */
export function agentPackagePlan(pkg: AgentPackage): AgentPackagePlan;
export function agentPackagePlan(pkg: AgentPackage | null): AgentPackagePlan | null;
export function agentPackagePlan(pkg: AgentPackage | null): AgentPackagePlan | null {
  if (pkg === null) return null;
  const source = agentProviderModule(pkg.provider).packageFor(pkg.version, pkg.arch);
  return {
    version: pkg.version,
    hostDir: pkg.dir,
    binary: pkg.relativeBinary,
    interpreter: source.interpreter,
    pathDirs: [...source.pathDirs],
  };
}
