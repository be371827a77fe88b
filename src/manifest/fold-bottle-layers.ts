// Folds a bottle's layers (ancestors first, the bottle itself last) into one bottle, then
// applies defaults. Pure. The rules are documented in docs/manifests.md ("extends"):
// maps merge key by key, allowlists union, routes and git upstreams are replaced whole by
// key, scalars are overridden; nothing inherited can be removed.
import type { BottleLayer } from "./bottle-layer.js";
import { DEFAULT_AGENT_IMAGE } from "./bottle-schema.js";
import {
  type AllowRule,
  type BottleEnvValue,
  type BottleGitUpstream,
  type BottleRateLimit,
  type BottleRoute,
  DEFAULT_RATE_LIMIT,
  DEFAULT_WILDCARD_LABELS,
  DEFAULT_WILDCARD_NAMES,
  type PackageRegistry,
  type ResolvedBottle,
  type WildcardLabelBound,
} from "./resolved-bottle.js";

export function foldBottleLayers(layers: readonly BottleLayer[]): ResolvedBottle {
  const self = layers.at(-1);
  if (self === undefined) throw new Error("foldBottleLayers needs at least the bottle itself");
  // Keyed by names from files: no prototype, so no name can reach one.
  const env: Record<string, BottleEnvValue> = Object.create(null);
  const allow = new Map<string, AllowRule>();
  const routes = new Map<string, BottleRoute>();
  const git = new Map<string, BottleGitUpstream>();
  // Registries union like allowlists: a child can add one, never take one away.
  const registries = new Set<PackageRegistry>();
  let folded: Pick<BottleLayer, "dlp" | "supervise" | "runtime" | "agent" | "agentVersion"> = {};
  let wildcardLabels: WildcardLabelBound = DEFAULT_WILDCARD_LABELS;
  let wildcardNames = DEFAULT_WILDCARD_NAMES;
  let rate = { ...DEFAULT_RATE_LIMIT };
  const rateHosts = new Map<string, BottleRateLimit["hosts"][number]>();
  for (const layer of layers) {
    Object.assign(env, layer.env);
    for (const rule of layer.allow ?? [])
      if (!allow.has(rule.pattern)) allow.set(rule.pattern, rule);
    // Map.set keeps a replaced key where it first appeared: the parent's order survives.
    for (const route of layer.routes ?? []) routes.set(route.host, route);
    for (const upstream of layer.git ?? []) git.set(upstream.name, upstream);
    for (const registry of layer.registries ?? []) registries.add(registry);
    wildcardLabels = { ...wildcardLabels, ...layer.wildcardLabels };
    wildcardNames = layer.wildcardNames ?? wildcardNames;
    const { hosts, ...limit } = layer.rateLimit ?? {};
    rate = { ...rate, ...limit };
    // Merged key by key per host, like wildcard_labels.
    for (const host of hosts ?? []) {
      rateHosts.set(host.pattern, { ...rateHosts.get(host.pattern), ...host });
    }
    folded = {
      dlp: layer.dlp ?? folded.dlp,
      supervise: layer.supervise ?? folded.supervise,
      runtime: layer.runtime ?? folded.runtime,
      agent: layer.agent ?? folded.agent,
      // A version belongs to the provider named with it: a child naming a provider drops it.
      agentVersion: layer.agent === undefined ? folded.agentVersion : layer.agentVersion,
    };
  }
  // A route's host is allowed by the route itself: listing it twice would only let the two drift.
  for (const route of routes.values()) {
    if (!allow.has(route.host)) {
      allow.set(route.host, {
        kind: "host",
        pattern: route.host,
        host: route.host,
        port: null,
        via: "route",
        declaredAt: route.declaredAt,
      });
    }
  }
  return {
    name: self.name,
    file: self.file.path,
    label: self.file.label,
    doc: self.file.body,
    chain: layers.map((layer) => layer.name),
    env,
    egress: {
      allow: [...allow.values()],
      routes: [...routes.values()],
      dlp: folded.dlp ?? "block",
      wildcardLabels,
      wildcardNames,
      rateLimit: { ...rate, hosts: [...rateHosts.values()] },
    },
    git: [...git.values()],
    registries: [...registries],
    supervise: folded.supervise ?? true,
    runtime: folded.runtime ?? { kind: "image", image: DEFAULT_AGENT_IMAGE },
    agent: folded.agent ?? "claude",
    ...(folded.agentVersion === undefined ? {} : { agentVersion: folded.agentVersion }),
  };
}
