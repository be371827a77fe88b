// Renders a resolved DockerBottlePlan into a Compose v2 spec object: one project per
// bottle, the agent plus the sidecars its plan needs, two networks, no named volumes.
// Pure: no I/O, no clock, no randomness. The one fact that needs the file system (is the
// env file non-empty?) is read by the caller and passed in as `facts`.

import type { SuperviseMcp } from "../agents/agent-provider.js";
import { agentProviderModule } from "../agents/registry.js";
import {
  AGENT_CA_BUNDLE,
  AGENT_CA_PATH,
  BOTTLE_HOME_LABEL,
  BOTTLE_SLUG_LABEL,
  composeProjectName,
} from "../contracts/agent.js";
import {
  EGRESS_HEALTHZ_ENDPOINT,
  EGRESS_HOSTNAME,
  EGRESS_PIPELOCK_CA_IN_CONTAINER,
  EGRESS_PORT,
  egressContainerName,
  egressProxyUrl,
} from "../contracts/egress.js";
import { GIT_GATE_SECRET_RULES_ENV, gitGateContainerName } from "../contracts/git-gate.js";
import {
  PIPELOCK_CONFIG_IN_CONTAINER,
  PIPELOCK_HEALTH_URL,
  PIPELOCK_PORT,
  PIPELOCK_UPSTREAM_CA_FILE_ENV,
  PIPELOCK_UPSTREAM_CA_IN_CONTAINER,
  pipelockContainerName,
  pipelockProxyUrl,
} from "../contracts/pipelock.js";
import { type SidecarName, sidecarDockerfile, sidecarImage } from "../contracts/sidecar-images.js";
import {
  QUEUE_DIR_IN_CONTAINER,
  SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS,
  SUPERVISE_HEALTH_PATH,
  SUPERVISE_HOSTNAME,
  SUPERVISE_MCP_SERVER_NAME,
  SUPERVISE_PORT,
  superviseContainerName,
  superviseMcpUrl,
} from "../contracts/supervise.js";
import { hasEgress, hasGitGate, mountsOf, type ServiceName } from "./bottle-mounts.js";
import type { DockerBottlePlan, GitUpstream } from "./bottle-plan.js";

/** A bottle's networks: the agent's, with no way out, and the sidecars' way out. */
export const NETWORK_NAMES = ["internal", "egress"] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

export interface BindMount {
  type: "bind";
  source: string;
  target: string;
  read_only: boolean;
}

export interface ComposeBuild {
  context: string;
  dockerfile: string;
}

/** The subset of the Compose service spec we emit, spelled as Compose spells it. */
export interface ComposeService {
  image: string;
  build?: ComposeBuild;
  container_name: string;
  command?: string[];
  runtime?: string;
  networks: Partial<Record<NetworkName, { aliases: string[] } | null>>;
  environment?: string[];
  env_file?: string[];
  volumes?: BindMount[];
  extra_hosts?: string[];
  depends_on?: ServiceName[];
  healthcheck?: ComposeHealthcheck;
  init?: boolean;
  labels?: Record<string, string>;
  user?: string;
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  restart?: RestartPolicy;
}

/**
 * `on-failure` without a count: a crashed sidecar (non-zero exit, a signal, the OOM killer)
 * comes back, a clean stop or `docker kill` does not, and Docker never resets a bounded
 * count, so "on-failure:N" would let a long-lived bottle run out of restarts. The bottle
 * fails closed while a sidecar is down, so a crash loop costs only its back-off.
 */
export type RestartPolicy = "on-failure";

export interface ComposeHealthcheck {
  test: string[];
  interval: string;
  timeout: string;
  retries: number;
  start_period: string;
  start_interval: string;
}

export interface ComposeSpec {
  name: string;
  services: Partial<Record<ServiceName, ComposeService>>;
  networks: Record<
    NetworkName,
    {
      name: string;
      internal?: boolean;
      driver_opts?: Record<string, string>;
      labels: Record<string, string>;
    }
  >;
}

/** A numeric user and group, as Compose's `user:` takes them. */
export interface SidecarUser {
  uid: number;
  gid: number;
}

/**
 * Who the Node sidecars run as when the CLI runs as root: a fixed unprivileged user that
 * images/node.Dockerfile creates, to whom prepare hands the files those sidecars read.
 */
export const FIXED_SIDECAR_USER: SidecarUser = { uid: 10001, gid: 10001 };

/**
 * The Node sidecars run as whoever owns the staged files they read, so a 0600 CA key is
 * readable by exactly its sidecar: a CLI run by a user stages them as that user (who
 * cannot give them away), and one run as root gives them to the fixed sidecar user
 * (never root itself).
 */
export function sidecarUserFor(host: SidecarUser): SidecarUser {
  return host.uid === 0 ? FIXED_SIDECAR_USER : host;
}

/** Facts about the host the renderer may not read itself. */
export interface ComposeFacts {
  /** The plan's env file exists and is non-empty. */
  envFileNonEmpty: boolean;
  /** Who the Node sidecars run as (see sidecarUserFor). */
  sidecarUser: SidecarUser;
}

export const DEFAULT_COMPOSE_FACTS: ComposeFacts = {
  envFileNonEmpty: false,
  sidecarUser: FIXED_SIDECAR_USER,
};

export function bottlePlanToCompose(
  plan: DockerBottlePlan,
  facts: ComposeFacts = DEFAULT_COMPOSE_FACTS,
): ComposeSpec {
  const services: ComposeSpec["services"] = {};
  const confined = confinedNodeSidecar(facts.sidecarUser);
  services.pipelock = { ...pipelockService(plan), ...confined };
  if (hasGitGate(plan)) services["git-gate"] = { ...gitGateService(plan), ...confinedGitGate() };
  if (hasEgress(plan)) services.egress = { ...egressService(plan), ...confined };
  if (plan.supervisePlan !== null) services.supervise = { ...superviseService(plan), ...confined };
  // No restart policy and no changes for the agent: it runs as its image's unprivileged
  // user, and a restarted agent container would come back unprovisioned, outside the
  // session the CLI is attached to.
  services.agent = agentService(plan, facts);
  // Our own label, besides Compose's: `list` and `cleanup` find every bottle by it, even
  // one whose state directory is gone.
  const labels = { [BOTTLE_SLUG_LABEL]: plan.slug, [BOTTLE_HOME_LABEL]: plan.home };
  for (const service of Object.values(services)) {
    // A real init as PID 1: `sleep infinity` and node ignore SIGTERM as PID 1, which
    // would make every `down` wait out the stop timeout.
    service.init = true;
    service.labels = { ...labels };
  }
  return {
    name: composeProjectName(plan.slug),
    services,
    networks: {
      // No gateway: the agent's only way out is through the sidecars.
      internal: {
        name: plan.proxyPlan.internalNetwork,
        internal: true,
        // internal: true only drops traffic leaving the subnet; the host keeps an address on
        // the bridge, and every service it runs on 0.0.0.0 (sshd, a DNS forwarder, a TCP
        // Docker API) would be one hop from the agent. No address on the bridge, no host.
        driver_opts: { "com.docker.network.bridge.inhibit_ipv4": "true" },
        labels: { ...labels },
      },
      egress: { name: plan.proxyPlan.egressNetwork, labels: { ...labels } },
    },
  };
}

/**
 * `up --wait` returns once every sidecar answers its own health URL. Checked every half
 * second while starting, then every 30 s: a node process per check is not free.
 */
/**
 * A GET of `url` answered 200, asked by bash over /dev/tcp. Not a node process: a check runs
 * every half second while a sidecar starts, and with fifty bottles starting at once on two
 * cores the checks' own Node start-ups (tens of ms of CPU each) were enough to push
 * sidecars past their start period (bench/scale).
 */
export function httpHealthcheck(url: string): ComposeHealthcheck {
  const { hostname, port, pathname } = new URL(url);
  const request = `GET ${pathname} HTTP/1.0\\r\\nHost: ${hostname}\\r\\n\\r\\n`;
  return {
    test: [
      "CMD",
      "bash",
      "-c",
      `exec 3<>/dev/tcp/${hostname}/${port} && printf '${request}' >&3 && IFS= read -r line <&3 && [[ $line == "HTTP/1."[01]" 200 "* ]]`,
    ],
    interval: "30s",
    timeout: "5s",
    retries: 3,
    start_period: "60s",
    start_interval: "500ms",
  };
}

type Confinement = Pick<
  ComposeService,
  "user" | "cap_drop" | "cap_add" | "security_opt" | "read_only" | "tmpfs" | "restart"
>;

/**
 * pipelock, egress and supervise: a non-root user, no capabilities at all (they listen on
 * ports above 1024 and read only files their user owns), no way to gain privileges by
 * exec, and a read-only root with a private /tmp (the only paths they write are the
 * supervise queue's bind mount).
 */
function confinedNodeSidecar(user: SidecarUser): Confinement {
  return {
    user: `${user.uid}:${user.gid}`,
    cap_drop: ["ALL"],
    security_opt: ["no-new-privileges:true"],
    read_only: true,
    tmpfs: ["/tmp"],
    restart: "on-failure",
  };
}

/**
 * git-gate's entrypoint starts as root for one step: copying each upstream's identity file
 * (the user's own 0600 key, which the CLI cannot hand to another uid) into a place of the
 * gate user's own, where ssh accepts it; ssh also refuses to run as a uid without a passwd
 * entry, so the gate cannot simply run as the host user. Then setpriv drops to the gate
 * user, whose daemon, hooks, gitleaks and ssh hold no capabilities. The root part keeps
 * only what that step uses, each of which it cannot start without: CHOWN and FOWNER
 * (install -o, then chmod of the gate user's files), DAC_OVERRIDE (a key owned by the host
 * user; writing into the gate user's 0700 directories, which DAC_READ_SEARCH does not
 * allow), SETUID and SETGID (setpriv). Its root stays writable: the mirrors live in the
 * image's /var/lib/git-gate, owned by the gate user.
 */
function confinedGitGate(): Confinement {
  return {
    cap_drop: ["ALL"],
    cap_add: [...GIT_GATE_CAPABILITIES],
    security_opt: ["no-new-privileges:true"],
    restart: "on-failure",
  };
}

export const GIT_GATE_CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "SETGID",
  "SETUID",
] as const;

/**
 * Compose reaches every mount of the table by a bind from the host's disk, in the long form
 * (not "src:dst:ro"), which survives spaces and colons in host paths.
 */
function bindsOf(plan: DockerBottlePlan, service: ServiceName): BindMount[] {
  return mountsOf(plan, service).map((m) => ({
    type: "bind",
    source: m.source,
    target: m.target,
    read_only: !m.writable,
  }));
}

/** A sidecar's image, and how Compose builds it from the package when it is missing. */
function sidecarBuild(
  plan: DockerBottlePlan,
  name: SidecarName,
): { image: string; build: ComposeBuild } {
  return {
    image: sidecarImage(name),
    build: { context: plan.buildContext, dockerfile: sidecarDockerfile(name) },
  };
}

function pipelockService(plan: DockerBottlePlan): ComposeService {
  const pp = plan.proxyPlan;
  const name = pipelockContainerName(plan.slug);
  const environment = [
    // Bare names: the known secret values DLP looks for, inherited from `compose up`.
    ...[...pp.secretEnv].sort(),
    ...(pp.upstreamCaPath === null
      ? []
      : [`${PIPELOCK_UPSTREAM_CA_FILE_ENV}=${PIPELOCK_UPSTREAM_CA_IN_CONTAINER}`]),
  ];
  return {
    ...sidecarBuild(plan, "pipelock"),
    container_name: name,
    command: [
      "run",
      "--config",
      PIPELOCK_CONFIG_IN_CONTAINER,
      "--listen",
      `0.0.0.0:${PIPELOCK_PORT}`,
    ],
    networks: { internal: { aliases: [name] }, egress: null },
    ...(environment.length > 0 ? { environment } : {}),
    volumes: bindsOf(plan, "pipelock"),
    healthcheck: httpHealthcheck(PIPELOCK_HEALTH_URL),
  };
}

function gitGateService(plan: DockerBottlePlan): ComposeService {
  const gp = plan.gitGatePlan;
  const name = gitGateContainerName(plan.slug);
  const service: ComposeService = {
    ...sidecarBuild(plan, "git-gate"),
    container_name: name,
    networks: { internal: { aliases: [name] }, egress: null },
    // Bare name: gitleaks rules for the bottle's own secrets, inherited from `compose up`.
    environment: [GIT_GATE_SECRET_RULES_ENV],
    volumes: bindsOf(plan, "git-gate"),
  };
  const extraHosts = aggregateExtraHosts(gp.upstreams);
  if (extraHosts.length > 0) service.extra_hosts = extraHosts;
  return service;
}

/** Every upstream's pinned hosts as sorted "host:ip" entries (the plan schema rejects conflicts). */
export function aggregateExtraHosts(upstreams: readonly GitUpstream[]): string[] {
  const pinned = new Map<string, string>();
  for (const u of upstreams) {
    for (const [host, ip] of Object.entries(u.extraHosts)) pinned.set(host, ip);
  }
  return [...pinned.keys()].sort().map((host) => `${host}:${pinned.get(host)}`);
}

function egressService(plan: DockerBottlePlan): ComposeService {
  const ep = plan.egressPlan;
  const environment = [
    `EGRESS_UPSTREAM_PROXY=${ep.pipelockProxyUrl}`,
    `HTTPS_PROXY=${ep.pipelockProxyUrl}`,
    `HTTP_PROXY=${ep.pipelockProxyUrl}`,
    "NO_PROXY=localhost,127.0.0.1",
    `EGRESS_UPSTREAM_CA=${EGRESS_PIPELOCK_CA_IN_CONTAINER}`,
    // Bare names: Compose copies each value from its own process env, so token
    // values stay out of argv and out of this file.
    ...Object.keys(ep.tokenEnvMap).sort(),
  ];
  return {
    ...sidecarBuild(plan, "egress"),
    container_name: egressContainerName(plan.slug),
    // Internal only (the seed also attaches the egress network): egress holds the real tokens
    // and needs nothing but pipelock, so even a subverted egress has no way out around
    // pipelock's allowlist and DLP, which lets each token reach its own hosts only.
    networks: { internal: { aliases: [EGRESS_HOSTNAME] } },
    environment,
    volumes: bindsOf(plan, "egress"),
    depends_on: ["pipelock"],
    healthcheck: httpHealthcheck(`http://127.0.0.1:${EGRESS_PORT}${EGRESS_HEALTHZ_ENDPOINT}`),
  };
}

function superviseService(plan: DockerBottlePlan): ComposeService {
  const sp = plan.supervisePlan;
  if (sp === null) throw new Error("superviseService called without a supervise plan");
  return {
    ...sidecarBuild(plan, "supervise"),
    container_name: superviseContainerName(plan.slug),
    // Internal only: supervise never calls out; the host reaches it through the queue dir.
    networks: { internal: { aliases: [SUPERVISE_HOSTNAME] } },
    environment: [
      `SUPERVISE_BOTTLE_SLUG=${plan.slug}`,
      `SUPERVISE_QUEUE_DIR=${QUEUE_DIR_IN_CONTAINER}`,
      `SUPERVISE_PORT=${SUPERVISE_PORT}`,
    ],
    volumes: bindsOf(plan, "supervise"),
    healthcheck: httpHealthcheck(`http://127.0.0.1:${SUPERVISE_PORT}${SUPERVISE_HEALTH_PATH}`),
  };
}

function agentService(plan: DockerBottlePlan, facts: ComposeFacts): ComposeService {
  const proxyUrl = agentProxyUrl(plan);
  const noProxy = agentNoProxy(plan);
  const providerEnv = agentProviderModule(plan.agentProvider).environment(
    { caCert: AGENT_CA_PATH, caBundle: AGENT_CA_BUNDLE },
    superviseMcpOf(plan),
  );
  const service: ComposeService = {
    image: plan.runtimeImage,
    container_name: plan.containerName,
    // The agent program is `docker exec -it`'d in later; interactivity is per exec.
    command: ["sleep", "infinity"],
    networks: { internal: null },
    environment: [
      `HTTPS_PROXY=${proxyUrl}`,
      `HTTP_PROXY=${proxyUrl}`,
      `https_proxy=${proxyUrl}`,
      `http_proxy=${proxyUrl}`,
      `NO_PROXY=${noProxy}`,
      `no_proxy=${noProxy}`,
      `NODE_EXTRA_CA_CERTS=${AGENT_CA_PATH}`,
      `SSL_CERT_FILE=${AGENT_CA_BUNDLE}`,
      `REQUESTS_CA_BUNDLE=${AGENT_CA_BUNDLE}`,
      // The provider's own: its CA variable, update and telemetry switches, MCP timeouts.
      ...Object.entries(providerEnv)
        .map(([name, value]) => `${name}=${value}`)
        .sort(),
      // Bare names: values are inherited from the `compose up` process env.
      ...[...plan.forwardedEnv].sort(),
    ],
  };
  if (plan.useRunsc) service.runtime = "runsc";
  if (plan.envFile !== null && facts.envFileNonEmpty) service.env_file = [plan.envFile];
  const volumes = bindsOf(plan, "agent");
  if (volumes.length > 0) service.volumes = volumes;
  const dependsOn: ServiceName[] = ["pipelock"];
  if (hasGitGate(plan)) dependsOn.push("git-gate");
  if (hasEgress(plan)) dependsOn.push("egress");
  if (plan.supervisePlan !== null) dependsOn.push("supervise");
  service.depends_on = dependsOn;
  return service;
}

/** The supervise MCP server as the agent program registers it, or null without supervision. */
export function superviseMcpOf(plan: DockerBottlePlan): SuperviseMcp | null {
  if (plan.supervisePlan === null) return null;
  return {
    name: SUPERVISE_MCP_SERVER_NAME,
    url: superviseMcpUrl(),
    // A call that waits for a human must outlive supervise's own answer timeout.
    toolTimeoutSeconds: SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS + 60,
  };
}

/** With routes the agent goes through egress (which goes through pipelock); else straight to pipelock. */
export function agentProxyUrl(plan: DockerBottlePlan): string {
  return hasEgress(plan) ? egressProxyUrl() : pipelockProxyUrl(plan.slug);
}

/** Loopback always; supervise too, since its MCP long-poll must not hit the proxy's idle timeout. */
export function agentNoProxy(plan: DockerBottlePlan): string {
  const hosts = ["localhost", "127.0.0.1"];
  if (plan.supervisePlan !== null) hosts.push(SUPERVISE_HOSTNAME);
  return hosts.join(",");
}
