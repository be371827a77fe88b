// The Kubernetes objects of one bottle: a namespace, one bare Pod per service, a Service per
// sidecar, default-deny NetworkPolicies, ConfigMaps for what is no secret and Secrets for
// the bottle's own CA keys. Pure: a function of the blueprint and its staged files. It must
// never hold a user's secret value (route tokens, deploy keys, forwarded env): those are
// named here, and only the apply script reads them, at apply time, from the user's shell.

import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { INamespace } from "kubernetes-models/v1/Namespace";
import type { IPod } from "kubernetes-models/v1/Pod";
import type { IProbe } from "kubernetes-models/v1/Probe";
import type { ISecret } from "kubernetes-models/v1/Secret";
import type { IService } from "kubernetes-models/v1/Service";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { IVolumeMount } from "kubernetes-models/v1/VolumeMount";
import { AGENT_CA_BUNDLE, AGENT_CA_PATH, BOTTLE_SLUG_LABEL } from "../../contracts/agent.js";
import { EGRESS_HOSTNAME } from "../../contracts/egress.js";
import {
  GIT_GATE_ALLOWLIST_FILE,
  GIT_GATE_LISTEN_ENV,
  GIT_GATE_SECRET_RULES_ENV,
  gitGateContainerName,
} from "../../contracts/git-gate.js";
import { PIPELOCK_CONFIG_IN_CONTAINER, pipelockContainerName } from "../../contracts/pipelock.js";
import { POLICY_SNAPSHOT_FILE, SUPERVISE_HOSTNAME } from "../../contracts/supervise.js";
import type { BottleBlueprint } from "../../core/bottle-blueprint.js";
import { type BottleMount, bottleMounts, type ServiceName } from "../../core/bottle-mounts.js";
import {
  bottlePlanToCompose,
  type ComposeService,
  FIXED_SIDECAR_USER,
  GIT_GATE_CAPABILITIES,
} from "../../core/compose.js";
import { bottleNetworkPolicies, SERVICE_LABEL, SIDECAR_PORTS } from "./network-policies.js";

export type KubernetesObject = INamespace | INetworkPolicy | IConfigMap | ISecret | IService | IPod;

/** One file of the rendered directory: its objects, in the order they are applied. */
export interface KubernetesFile {
  name: string;
  objects: KubernetesObject[];
  /** Holds the bottle's CA private keys: written 0600 and named in the summary. */
  secret: boolean;
}

/**
 * A Secret whose values the apply script reads from the user's shell or files: never
 * rendered with data. Each key comes from a host variable, a file, or the gate's rules
 * (computed from the host variables by `claude-bottle render --gate-rules-from-env`).
 */
export interface ApplyTimeSecret {
  name: string;
  service: ServiceName;
  keys: Array<
    | { key: string; from: "env"; hostVar: string }
    | { key: string; from: "file"; path: string }
    | { key: string; from: "gate-rules"; hostVars: string[] }
  >;
}

export interface KubernetesBottle {
  slug: string;
  namespace: string;
  files: KubernetesFile[];
  secrets: ApplyTimeSecret[];
  /** Pods created by the apply script with the Services' ClusterIPs as hostAliases. */
  hostAliases: Array<{ file: string; names: Array<{ service: ServiceName; hostname: string }> }>;
}

/** One staged file's content by its host path (stageBottle's output, or test data). */
export interface StagedContent {
  files: ReadonlyArray<{ path: string; content: string; mode: number }>;
  agentCaBundle: string;
}

export interface KubernetesRenderInput {
  blueprint: BottleBlueprint;
  staged: StagedContent;
  /** The user's own non-secret files the bottle reads (a private upstream CA), by path. */
  userFiles?: ReadonlyMap<string, string>;
  /** The policy snapshot the agent may read (initialPolicySnapshot), as JSON text. */
  policySnapshot?: string;
}

const AGENT_UID = 1000;
const AGENT_HOME = "/home/agent";
/** pipelock reads its policy from a mounted ConfigMap directory: a subPath mount never updates. */
export const PIPELOCK_POLICY_DIR = "/etc/pipelock-policy";
const PIPELOCK_POLICY_FILE = PIPELOCK_CONFIG_IN_CONTAINER.split("/").pop() ?? "pipelock.yaml";

export function namespaceOf(slug: string): string {
  return `claude-bottle-${slug}`;
}

/** The hostnames the agent dials today (src/contracts), each answered by a Service. */
export function sidecarHostname(service: ServiceName, slug: string): string {
  switch (service) {
    case "pipelock":
      return pipelockContainerName(slug);
    case "egress":
      return EGRESS_HOSTNAME;
    case "git-gate":
      return gitGateContainerName(slug);
    case "supervise":
      return SUPERVISE_HOSTNAME;
    case "agent":
      throw new Error("the agent has no Service");
  }
}

const FILE_ORDER: ServiceName[] = ["pipelock", "git-gate", "egress", "supervise", "agent"];

/** What the render of one bottle collects as it goes over the services. */
interface RenderState {
  input: KubernetesRenderInput;
  meta: (name: string, service?: ServiceName) => ObjectMeta;
  content: (m: BottleMount) => { content: string; mode: number };
  configMaps: IConfigMap[];
  caSecrets: ISecret[];
  secrets: ApplyTimeSecret[];
}

type ObjectMeta = { name: string; namespace: string; labels: Record<string, string> };

/** A pod's volumes and its container's mounts of them, each volume once. */
class PodVolumes {
  readonly volumes: IVolume[] = [];
  readonly mounts: IVolumeMount[] = [];

  add(volume: IVolume, mount: Omit<IVolumeMount, "name">): void {
    if (!this.volumes.some((v) => v.name === volume.name)) this.volumes.push(volume);
    this.mounts.push({ name: volume.name, ...mount });
  }
}

export function renderKubernetesBottle(input: KubernetesRenderInput): KubernetesBottle {
  const { blueprint } = input;
  const plan = blueprint.plan;
  const slug = plan.slug;
  const namespace = namespaceOf(slug);
  // The Compose render decides each service's image, command, environment and user: the
  // same decisions here, so the two bottles cannot drift apart.
  const compose = bottlePlanToCompose(plan, {
    envFileNonEmpty: false,
    sidecarUser: FIXED_SIDECAR_USER,
  });
  const services = FILE_ORDER.filter((s) => compose.services[s] !== undefined);
  const sidecars = services.filter((s): s is Exclude<ServiceName, "agent"> => s !== "agent");
  const state: RenderState = {
    input,
    meta: (name, service) => ({
      name,
      namespace,
      labels: {
        [BOTTLE_SLUG_LABEL]: slug,
        ...(service === undefined ? {} : { [SERVICE_LABEL]: service }),
        "app.kubernetes.io/managed-by": "claude-bottle",
      },
    }),
    content: contentByPath(input),
    configMaps: [],
    caSecrets: [],
    secrets: [],
  };
  const mounts = bottleMounts(plan);
  const pods = services.map((service) => ({
    service,
    pod: podOf(
      state,
      service,
      compose.services[service] as ComposeService,
      mounts.filter((m) => m.service === service),
    ),
  }));

  const podFile = (service: ServiceName) => `50-${service === "agent" ? "agent" : service}.yaml`;
  const files: KubernetesFile[] = [
    { name: "00-namespace.yaml", objects: [namespaceObject(namespace, slug)], secret: false },
    {
      name: "10-network-policies.yaml",
      objects: bottleNetworkPolicies({
        plan,
        pipelockPolicy: blueprint.pipelockPolicy,
        sidecars,
        meta: state.meta,
      }),
      secret: false,
    },
    { name: "20-config-maps.yaml", objects: state.configMaps, secret: false },
    { name: "30-ca-keys.yaml", objects: state.caSecrets, secret: true },
    { name: "40-services.yaml", objects: serviceObjects(state, sidecars), secret: false },
    ...pods.map(({ service, pod }) => ({ name: podFile(service), objects: [pod], secret: false })),
  ];
  const aliasesFor = (service: ServiceName) =>
    (service === "agent" ? sidecars : service === "egress" ? (["pipelock"] as const) : []).map(
      (s) => ({ service: s, hostname: sidecarHostname(s, slug) }),
    );
  return {
    slug,
    namespace,
    files,
    secrets: state.secrets,
    hostAliases: services
      .filter((s) => aliasesFor(s).length > 0)
      .map((s) => ({ file: podFile(s), names: aliasesFor(s) })),
  };
}

/** One service's pod: its files, keys and live config mounted, its environment, its limits. */
function podOf(
  state: RenderState,
  service: ServiceName,
  spec: ComposeService,
  own: BottleMount[],
): IPod {
  const { blueprint } = state.input;
  const volumes = new PodVolumes();
  mountFiles(state, service, own, volumes);
  mountKeys(state, service, own, volumes);
  mountLive(state, service, own, volumes);
  const env = envOf(spec, service);
  if (env.fromSecret.length > 0) {
    state.secrets.push({
      name: `${service}-env`,
      service,
      keys: env.fromSecret.map((key) =>
        key === GIT_GATE_SECRET_RULES_ENV
          ? { key, from: "gate-rules", hostVars: gateRuleHostVars(blueprint) }
          : { key, from: "env", hostVar: blueprint.composeEnvSources[key] ?? key },
      ),
    });
  }
  const literals = service === "agent" && Object.keys(blueprint.agentEnvLiterals).length > 0;
  if (literals) {
    state.configMaps.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: state.meta("agent-env", service),
      data: { ...blueprint.agentEnvLiterals },
    });
  }
  for (const s of scratchVolumes(service)) {
    volumes.add({ name: s.name, emptyDir: {} }, { mountPath: s.path });
  }
  const container: IContainer = {
    name: service,
    image: spec.image,
    // The images are local tags: a node without them must fail, never pull whatever a public
    // registry holds under the same name.
    imagePullPolicy: "Never",
    ...(commandOf(spec, service) ?? {}),
    ...(env.vars.length > 0 ? { env: env.vars } : {}),
    ...(literals ? { envFrom: [{ configMapRef: { name: "agent-env" } }] } : {}),
    ...(service === "agent" || service === "git-gate" ? {} : probesOf(spec)),
    securityContext: containerSecurity(service),
    ...(volumes.mounts.length > 0 ? { volumeMounts: volumes.mounts } : {}),
  };
  const pinned = service === "git-gate" ? pinnedHosts(spec) : [];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: state.meta(service === "agent" ? blueprint.plan.containerName : service, service),
    spec: {
      // A bottle lives and dies as one: a crashed sidecar restarts in place, as with
      // Compose's on-failure; the agent is never restarted (it would come back unprovisioned).
      restartPolicy: service === "agent" ? "Never" : "OnFailure",
      automountServiceAccountToken: false,
      // No variables describing the namespace's Services: the agent learns nothing it was not given.
      enableServiceLinks: false,
      // `sleep infinity` and node ignore SIGTERM as PID 1 (Compose runs an init for that).
      terminationGracePeriodSeconds: 5,
      securityContext: podSecurity(service),
      ...(pinned.length > 0 ? { hostAliases: pinned } : {}),
      containers: [container],
      ...(volumes.volumes.length > 0 ? { volumes: volumes.volumes } : {}),
    },
  };
}

/** The service's plain files (and the agent's CA bundle) from one ConfigMap, file by file. */
function mountFiles(
  state: RenderState,
  service: ServiceName,
  own: BottleMount[],
  volumes: PodVolumes,
): void {
  const files = own
    .filter((m) => m.kind === "file" && !m.secret)
    .map((m) => ({ target: m.target, ...state.content(m) }));
  if (service === "agent") {
    // The agent trusts the bottle's CAs only: every connection it can make ends at pipelock
    // or egress, which intercept TLS. Compose adds them with update-ca-certificates instead.
    for (const target of [AGENT_CA_PATH, AGENT_CA_BUNDLE])
      files.push({ target, content: state.input.staged.agentCaBundle, mode: 0o644 });
  }
  if (files.length === 0) return;
  const name = `${service}-files`;
  const data: Record<string, string> = {};
  for (const f of files) data[keyOf(f.target, data)] = f.content;
  state.configMaps.push({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: state.meta(name, service),
    data,
  });
  const items = files.map((f) => ({
    key: basename(f.target),
    path: basename(f.target),
    mode: f.mode & 0o111 ? 0o555 : 0o444,
  }));
  for (const f of files) {
    volumes.add(
      { name: "files", configMap: { name, items } },
      { mountPath: f.target, subPath: basename(f.target), readOnly: true },
    );
  }
}

/**
 * The service's secret files: the bottle's own CA keys in a Secret of the render, the user's
 * key files in a Secret apply.sh creates from them.
 */
function mountKeys(
  state: RenderState,
  service: ServiceName,
  own: BottleMount[],
  volumes: PodVolumes,
): void {
  const generated = own.filter((m) => m.kind === "file" && m.secret && !m.fromUser);
  if (generated.length > 0) {
    const stringData: Record<string, string> = {};
    for (const m of generated) stringData[keyOf(m.target, stringData)] = state.content(m).content;
    const name = `${service}-ca-key`;
    state.caSecrets.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: state.meta(name, service),
      type: "Opaque",
      stringData,
    });
    for (const m of generated) {
      volumes.add(
        { name: "ca-key", secret: { secretName: name, defaultMode: secretMode(service) } },
        { mountPath: m.target, subPath: basename(m.target), readOnly: true },
      );
    }
  }
  const userKeys = own.filter((m) => m.kind === "file" && m.secret && m.fromUser);
  if (userKeys.length === 0) return;
  const name = `${service}-keys`;
  state.secrets.push({
    name,
    service,
    keys: userKeys.map((m) => ({ key: basename(m.target), from: "file", path: m.source })),
  });
  for (const m of userKeys) {
    volumes.add(
      { name: "keys", secret: { secretName: name, defaultMode: secretMode(service) } },
      { mountPath: m.target, subPath: basename(m.target), readOnly: true },
    );
  }
}

/** What changes while the bottle runs (policies, the gate's allowlist) and the queue. */
function mountLive(
  state: RenderState,
  service: ServiceName,
  own: BottleMount[],
  volumes: PodVolumes,
): void {
  for (const m of own.filter((m) => m.kind === "live")) {
    if (m.writable) {
      // The supervise queue: no host directory reaches a cluster (docs/kubernetes.md).
      volumes.add({ name: "queue", emptyDir: {} }, { mountPath: m.target });
      continue;
    }
    const live = liveConfigMap(service, m, state.input, state.content);
    state.configMaps.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: state.meta(live.name, service),
      data: live.data,
    });
    // A directory mount, never subPath: kubelet swaps the directory's ..data symlink on
    // every ConfigMap update, and only a directory mount sees the new content.
    volumes.add(
      { name: live.volume, configMap: { name: live.name } },
      { mountPath: live.mountPath, readOnly: true },
    );
  }
}

function serviceObjects(state: RenderState, sidecars: Exclude<ServiceName, "agent">[]): IService[] {
  const slug = state.input.blueprint.plan.slug;
  return sidecars.map((service) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: state.meta(service, service),
    spec: {
      selector: { [BOTTLE_SLUG_LABEL]: slug, [SERVICE_LABEL]: service },
      ports: [
        {
          name: portName(service),
          port: SIDECAR_PORTS[service],
          targetPort: SIDECAR_PORTS[service],
          protocol: "TCP",
        },
      ],
    },
  }));
}

function namespaceObject(namespace: string, slug: string): INamespace {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: namespace,
      labels: {
        [BOTTLE_SLUG_LABEL]: slug,
        "app.kubernetes.io/managed-by": "claude-bottle",
        // baseline admits git-gate's five capabilities and root start; restricted would not.
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/warn": "restricted",
      },
    },
  };
}

function portName(service: Exclude<ServiceName, "agent">): string {
  return { pipelock: "proxy", egress: "proxy", "git-gate": "git", supervise: "mcp" }[service];
}

function basename(path: string): string {
  return path.split("/").pop() ?? path;
}

/** A ConfigMap or Secret key for a target path: its base name, unique within the object. */
function keyOf(target: string, taken: Record<string, string>): string {
  const key = basename(target);
  if (key in taken) throw new Error(`two files named ${key} reach one service`);
  return key;
}

/** Node sidecars read their keys through fsGroup; git-gate's root entrypoint copies its own. */
function secretMode(service: ServiceName): number {
  return service === "git-gate" ? 0o400 : 0o440;
}

function contentByPath(input: KubernetesRenderInput) {
  const byPath = new Map(input.staged.files.map((f) => [f.path, f]));
  return (m: BottleMount): { content: string; mode: number } => {
    const staged = byPath.get(m.source);
    if (staged !== undefined) return staged;
    const user = input.userFiles?.get(m.source);
    if (user !== undefined) return { content: user, mode: 0o644 };
    throw new Error(`no content for ${m.source} (${m.service} ${m.target})`);
  };
}

function liveConfigMap(
  service: ServiceName,
  m: BottleMount,
  input: KubernetesRenderInput,
  content: (m: BottleMount) => { content: string },
): { name: string; volume: string; mountPath: string; data: Record<string, string> } {
  if (service === "pipelock") {
    return {
      name: "pipelock-policy",
      volume: "policy",
      mountPath: PIPELOCK_POLICY_DIR,
      data: { [PIPELOCK_POLICY_FILE]: content(m).content },
    };
  }
  if (service === "git-gate") {
    const file = input.staged.files.find(
      (f) => f.path === `${m.source}/${GIT_GATE_ALLOWLIST_FILE}`,
    );
    return {
      name: "git-gate-allow",
      volume: "allow",
      mountPath: m.target,
      data: { [GIT_GATE_ALLOWLIST_FILE]: file?.content ?? "" },
    };
  }
  return {
    name: "agent-policy",
    volume: "policy",
    mountPath: m.target,
    data: { [POLICY_SNAPSHOT_FILE]: input.policySnapshot ?? "" },
  };
}

interface RenderedEnv {
  vars: NonNullable<IContainer["env"]>;
  fromSecret: string[];
}

/** Compose's `NAME=value` entries as literals; its bare names (secrets) from the service's Secret. */
function envOf(spec: ComposeService, service: ServiceName): RenderedEnv {
  const vars: RenderedEnv["vars"] = [];
  const fromSecret: string[] = [];
  for (const entry of spec.environment ?? []) {
    const eq = entry.indexOf("=");
    if (eq === -1) {
      fromSecret.push(entry);
      vars.push({
        name: entry,
        valueFrom: { secretKeyRef: { name: `${service}-env`, key: entry } },
      });
    } else {
      // Kubernetes expands $(NAME) in values: $$ keeps a plan value literal.
      vars.push({ name: entry.slice(0, eq), value: entry.slice(eq + 1).replaceAll("$(", "$$(") });
    }
  }
  // A pod's one interface carries the default route, where Compose's gate has an internal
  // network to listen on: the gate is told, and the NetworkPolicy admits only the agent.
  if (service === "git-gate") vars.push({ name: GIT_GATE_LISTEN_ENV, value: "pod" });
  return { vars, fromSecret };
}

function commandOf(
  spec: ComposeService,
  service: ServiceName,
): Pick<IContainer, "command" | "args"> | null {
  if (service === "agent") return { command: spec.command ?? ["sleep", "infinity"] };
  if (service === "pipelock") {
    // The policy comes from a ConfigMap directory (see PIPELOCK_POLICY_DIR).
    const args = [...(spec.command ?? [])];
    const at = args.indexOf("--config");
    if (at !== -1) args[at + 1] = `${PIPELOCK_POLICY_DIR}/${PIPELOCK_POLICY_FILE}`;
    return { args };
  }
  return spec.command === undefined ? null : { args: [...spec.command] };
}

/** Compose's healthcheck command, as readiness (Services route to ready pods only) and liveness. */
function probesOf(spec: ComposeService): Pick<IContainer, "readinessProbe" | "livenessProbe"> {
  const hc = spec.healthcheck;
  if (hc === undefined) return {};
  const command =
    hc.test[0] === "CMD" ? hc.test.slice(1) : ["sh", "-c", hc.test.slice(1).join(" ")];
  const probe = (period: number, failures: number): IProbe => ({
    exec: { command },
    periodSeconds: period,
    timeoutSeconds: 5,
    failureThreshold: failures,
  });
  return {
    readinessProbe: probe(2, 3),
    livenessProbe: { ...probe(30, 3), initialDelaySeconds: 60 },
  };
}

/** Every container: no privilege gain, no capabilities but git-gate's, the runtime's seccomp profile. */
function containerSecurity(service: ServiceName): NonNullable<IContainer["securityContext"]> {
  const gate = service === "git-gate";
  return {
    allowPrivilegeEscalation: false,
    capabilities: gate ? { drop: ["ALL"], add: [...GIT_GATE_CAPABILITIES] } : { drop: ["ALL"] },
    // git-gate's root stays writable, as with Compose: its mirrors live in the image's
    // /var/lib/git-gate, owned by the gate user.
    readOnlyRootFilesystem: !gate,
    seccompProfile: { type: "RuntimeDefault" as const },
  };
}

function podSecurity(
  service: ServiceName,
): NonNullable<NonNullable<IPod["spec"]>["securityContext"]> {
  const seccompProfile = { type: "RuntimeDefault" as const };
  // git-gate's entrypoint starts as root to hand the deploy keys to its own user, then drops.
  if (service === "git-gate") return { runAsNonRoot: false, runAsUser: 0, seccompProfile };
  const id = service === "agent" ? AGENT_UID : FIXED_SIDECAR_USER.uid;
  const gid = service === "agent" ? AGENT_UID : FIXED_SIDECAR_USER.gid;
  return { runAsNonRoot: true, runAsUser: id, runAsGroup: gid, fsGroup: gid, seccompProfile };
}

/** Writable scratch on a read-only root: /tmp everywhere (Compose's tmpfs), the agent's home. */
function scratchVolumes(service: ServiceName): Array<{ name: string; path: string }> {
  if (service === "git-gate") return [];
  if (service === "agent")
    return [
      { name: "home", path: AGENT_HOME },
      { name: "tmp", path: "/tmp" },
    ];
  return [{ name: "tmp", path: "/tmp" }];
}

function pinnedHosts(spec: ComposeService) {
  const byIp = new Map<string, string[]>();
  for (const entry of spec.extra_hosts ?? []) {
    const at = entry.indexOf(":");
    const host = entry.slice(0, at);
    const ip = entry.slice(at + 1);
    byIp.set(ip, [...(byIp.get(ip) ?? []), host]);
  }
  return [...byIp.entries()].map(([ip, hostnames]) => ({ ip, hostnames }));
}

/** The host variables the gate's rules are computed from, in pipelock's DLP slot order. */
function gateRuleHostVars(blueprint: BottleBlueprint): string[] {
  return blueprint.plan.proxyPlan.secretEnv.map(
    (slot) => blueprint.composeEnvSources[slot] ?? slot,
  );
}
