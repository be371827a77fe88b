// The summary a person reads before a bottle starts: what it can reach and hold.
// Names of secrets only, never values.
import type { StartPlan } from "../backend/start-plan.js";

export interface Preflight {
  agent: string;
  agentFile: string;
  bottle: string;
  bottleChain: string[];
  slug: string;
  runtimeImage: string;
  isolation: string;
  allow: string[];
  /** How labels under a `*.` rule are bounded; shown only when a wildcard is allowed. */
  wildcardLabels: { maxLength: number; randomMinLength: number };
  routes: Array<{ host: string; paths: string[]; methods: string; tokenFrom: string }>;
  env: Array<{ name: string; from: string }>;
  git: Array<{ name: string; url: string }>;
  dlp: string;
  /** Package registries reachable read-only (`registries:`); absent or empty: none. */
  registries?: Array<{ registry: string; url: string; source: string; hosts: string[] }>;
  /** Allowlisted names may resolve to private addresses. */
  privateUpstreams: boolean;
  supervise: boolean;
}

export function preflightOf(plan: StartPlan): Preflight {
  const { agent, plan: docker } = plan.blueprint;
  const bottle = agent.bottle;
  return {
    agent: agent.name,
    agentFile: agent.label,
    bottle: bottle.name,
    bottleChain: bottle.chain,
    slug: docker.slug,
    runtimeImage: docker.runtimeImage,
    isolation: plan.runtime.reason,
    allow: bottle.egress.allow.map((rule) => rule.pattern),
    wildcardLabels: bottle.egress.wildcardLabels,
    routes: bottle.egress.routes.map((r) => ({
      host: r.host,
      paths: r.paths,
      methods: r.methods === "all" ? "all" : r.methods.join(","),
      tokenFrom:
        r.auth.scheme === "header"
          ? `${r.auth.header}: $${r.auth.tokenEnv}`
          : `${r.auth.scheme} $${r.auth.tokenEnv}`,
    })),
    env: Object.entries(bottle.env).map(([name, v]) => ({
      name,
      from: v.kind === "literal" ? "literal" : `host $${v.hostName}`,
    })),
    git: bottle.git.map((u) => ({ name: u.name, url: u.url })),
    dlp: bottle.egress.dlp,
    registries: plan.blueprint.registries.map((r) => ({
      registry: r.registry,
      url: r.url,
      source: r.source,
      hosts: r.hosts,
    })),
    privateUpstreams: plan.blueprint.pipelockPolicy.privateUpstreams === "allow",
    supervise: bottle.supervise,
  };
}

export function formatPreflight(p: Preflight): string {
  const list = (items: string[]) => (items.length === 0 ? "none" : items.join(", "));
  const lines = [
    `agent     ${p.agent} (${p.agentFile})`,
    `bottle    ${p.bottleChain.join(" → ")}`,
    `instance  ${p.slug}`,
    `runtime   ${p.runtimeImage}, ${p.isolation}`,
    `hosts     ${list(p.allow)}`,
    ...(p.allow.some((pattern) => pattern.startsWith("*."))
      ? [
          `          under *: labels of at most ${p.wildcardLabels.maxLength} characters; those of ${p.wildcardLabels.randomMinLength} or more must not read as encoded data`,
        ]
      : []),
    `routes    ${p.routes.length === 0 ? "none" : ""}`,
    ...p.routes.map(
      (r) =>
        `  ${r.host} ${r.paths.join(",")} [${r.methods}] ← ${r.tokenFrom} (the agent never sees it)`,
    ),
    `env       ${list(p.env.map((e) => `${e.name} (${e.from})`))}`,
    `git       ${list(p.git.map((g) => `${g.name} ${g.url}`))}`,
    ...(p.registries ?? []).flatMap((r) => [
      `registry  ${r.registry} ${r.url} (from ${r.source})`,
      `          read-only: GET and HEAD to ${r.hosts.join(", ")}, every request scanned by DLP; installed code runs in the bottle`,
    ]),
    `DLP       ${p.dlp}`,
    ...(p.privateUpstreams ? ["private   allowed: names may resolve to private addresses"] : []),
    `supervise ${p.supervise ? "on: the agent can ask for more through MCP" : "off"}`,
  ];
  return `${lines.map((l) => l.trimEnd()).join("\n")}\n`;
}
