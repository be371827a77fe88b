// One bottle file, validated and in our own camelCase shape, before `extends` is folded
// in. Only the keys the file sets are present, so that merging can tell "unset" apart.
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import type { IssuePath } from "../shared/yaml-source.js";
import { BottleFileSchema } from "./bottle-schema.js";
import type { ManifestFile } from "./manifest-file.js";
import {
  locationOf,
  type ManifestIssue,
  manifestError,
  validateManifest,
} from "./manifest-issues.js";
import { displayPath, expandHostPath } from "./manifest-paths.js";
import type {
  AgentProvider,
  AllowRule,
  BottleEnvValue,
  BottleGitUpstream,
  BottleRateLimit,
  BottleRoute,
  BottleRuntime,
  DlpAction,
  PackageRegistry,
  WildcardLabelBound,
} from "./resolved-bottle.js";

export interface BottleLayer {
  name: string;
  file: ManifestFile;
  /** Parents in the order written, with where each is named. */
  extends: { name: string; path: IssuePath }[];
  env?: Record<string, BottleEnvValue>;
  /** egress.allow then egress.allow_ips. */
  allow?: AllowRule[];
  routes?: BottleRoute[];
  dlp?: DlpAction;
  wildcardLabels?: Partial<WildcardLabelBound>;
  wildcardNames?: number;
  rateLimit?: Partial<Omit<BottleRateLimit, "hosts">> & { hosts?: BottleRateLimit["hosts"] };
  git?: BottleGitUpstream[];
  registries?: PackageRegistry[];
  supervise?: boolean;
  runtime?: BottleRuntime;
  agent?: AgentProvider;
  /** Only with `agent`: a version pinned alongside the provider. */
  agentVersion?: string;
}

/** Validates a bottle file and checks the host files it names; throws on any issue. */
export async function readBottleLayer(
  name: string,
  file: ManifestFile,
  userHome: string,
): Promise<BottleLayer> {
  const raw = validateManifest(BottleFileSchema, file);
  const at = (path: IssuePath) => locationOf(file, path);
  const expand = (path: string) => expandHostPath(path, userHome) ?? path;
  const layer: BottleLayer = {
    name,
    file,
    extends:
      raw.extends === undefined
        ? []
        : typeof raw.extends === "string"
          ? [{ name: raw.extends, path: ["extends"] }]
          : raw.extends.map((parent, i) => ({ name: parent, path: ["extends", i] })),
  };
  if (raw.env !== undefined) {
    layer.env = Object.fromEntries(
      Object.entries(raw.env).map(([key, value]): [string, BottleEnvValue] => {
        const declaredAt = at(["env", key]);
        return typeof value === "object"
          ? [key, { kind: "fromEnv", hostName: value.from_env, declaredAt }]
          : [key, { kind: "literal", value: String(value), declaredAt }];
      }),
    );
  }
  Object.assign(layer, egressLayer(raw.egress, at));
  if (raw.git !== undefined) {
    layer.git = raw.git.map((upstream, i) => ({
      name: upstream.name,
      url: upstream.url.url,
      host: upstream.url.host,
      port: upstream.url.port,
      identityFile: expand(upstream.identity_file),
      knownHostKey: upstream.known_host_key,
      declaredAt: at(["git", i]),
    }));
  }
  if (raw.registries !== undefined) layer.registries = [...new Set(raw.registries)];
  if (raw.supervise !== undefined) layer.supervise = raw.supervise;
  if (raw.runtime?.image !== undefined) layer.runtime = { kind: "image", image: raw.runtime.image };
  if (raw.runtime?.dockerfile !== undefined) {
    layer.runtime = { kind: "dockerfile", dockerfile: expand(raw.runtime.dockerfile) };
  }
  if (typeof raw.agent === "string") layer.agent = raw.agent;
  else if (raw.agent !== undefined) {
    layer.agent = raw.agent.provider;
    if (raw.agent.version !== undefined) layer.agentVersion = raw.agent.version;
  }
  await checkHostFiles(layer, userHome);
  return layer;
}

type RawBottle = ReturnType<typeof BottleFileSchema.parse>;
type At = (path: IssuePath) => ReturnType<typeof locationOf>;

/** The egress keys of a layer: allow rules, routes, DLP, wildcard bounds, rate limits. */
function egressLayer(egress: RawBottle["egress"], at: At): Partial<BottleLayer> {
  const out: Partial<BottleLayer> = {};
  if (egress?.allow !== undefined || egress?.allow_ips !== undefined) {
    out.allow = [
      ...(egress.allow ?? []).map((rule, i) => ({
        ...rule,
        via: "allow" as const,
        declaredAt: at(["egress", "allow", i]),
      })),
      ...(egress.allow_ips ?? []).map((rule, i) => ({
        ...rule,
        via: "allow_ips" as const,
        declaredAt: at(["egress", "allow_ips", i]),
      })),
    ];
  }
  if (egress?.routes !== undefined) {
    out.routes = egress.routes.map((route, i) => ({
      host: route.host,
      paths: route.paths ?? ["/"],
      methods: route.methods ?? "all",
      auth:
        route.auth.header === undefined
          ? { scheme: route.auth.scheme ?? "Bearer", tokenEnv: route.auth.token_env }
          : {
              scheme: "header" as const,
              header: route.auth.header,
              tokenEnv: route.auth.token_env,
            },
      declaredAt: at(["egress", "routes", i]),
    }));
  }
  if (egress?.dlp !== undefined) out.dlp = egress.dlp;
  const labels = egress?.wildcard_labels;
  if (labels !== undefined) {
    out.wildcardLabels = {
      ...(labels.max_length === undefined ? {} : { maxLength: labels.max_length }),
      ...(labels.random_min_length === undefined
        ? {}
        : { randomMinLength: labels.random_min_length }),
    };
  }
  if (egress?.wildcard_names !== undefined) out.wildcardNames = egress.wildcard_names;
  if (egress?.rate_limit !== undefined) out.rateLimit = rateLimitOf(egress.rate_limit, at);
  return out;
}

function rateLimitOf(
  rate: NonNullable<NonNullable<RawBottle["egress"]>["rate_limit"]>,
  at: At,
): NonNullable<BottleLayer["rateLimit"]> {
  return {
    ...(rate.per_second === undefined ? {} : { perSecond: rate.per_second }),
    ...(rate.burst === undefined ? {} : { burst: rate.burst }),
    ...(rate.hosts === undefined
      ? {}
      : {
          hosts: rate.hosts.map((h, i) => ({
            pattern: h.host.pattern,
            ...(h.per_second === undefined ? {} : { perSecond: h.per_second }),
            ...(h.burst === undefined ? {} : { burst: h.burst }),
            declaredAt: at(["egress", "rate_limit", "hosts", i]),
          })),
        }),
  };
}

async function checkHostFiles(layer: BottleLayer, userHome: string): Promise<void> {
  const checks: { path: IssuePath; file: string; create?: string }[] = (layer.git ?? []).map(
    (upstream, i) => ({
      path: ["git", i, "identity_file"],
      file: upstream.identityFile,
      create: `ssh-keygen -t ed25519 -f ${displayPath(upstream.identityFile, userHome)}`,
    }),
  );
  if (layer.runtime?.kind === "dockerfile") {
    checks.push({ path: ["runtime", "dockerfile"], file: layer.runtime.dockerfile });
  }
  const issues: ManifestIssue[] = [];
  for (const check of checks) {
    const problem = await readableFileProblem(check.file);
    if (problem === undefined) continue;
    const shown = displayPath(check.file, userHome);
    const fix =
      problem === "does not exist"
        ? check.create === undefined
          ? "fix the path"
          : `fix the path, or create the key with ${check.create}`
        : problem === "is not readable"
          ? "make it readable by you (e.g. chmod 600)"
          : "give the path of a file";
    issues.push({ path: check.path, message: `${shown} ${problem}; ${fix}` });
  }
  if (issues.length > 0) throw manifestError(layer.file, issues);
}

async function readableFileProblem(path: string): Promise<string | undefined> {
  try {
    if (!(await stat(path)).isFile()) return "is not a file";
    await access(path, constants.R_OK);
    return undefined;
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? "does not exist" : "is not readable";
  }
}
