// Renders a bottle as a Docker Swarm stack: the Compose spec of the same plan (so services,
// commands, health checks and aliases stay one definition), with what a swarm cannot or must
// not take replaced. Pure: no I/O, no clock, no randomness.
//
// - No bind mounts: a node does not share the host's disk. Each staged file becomes a config
//   (a key: a secret), which `docker stack deploy` reads from the CLI's disk and the swarm
//   ships to the node; a directory the sidecars keep changing becomes a volume on the node.
// - No variable holding a secret: a service's environment is resolved at deploy and shown
//   by `docker service inspect`. Each bare name becomes an external Swarm secret (created
//   from stdin beforehand) that the sidecar reads from /run/secrets/<NAME>; the agent's own
//   (host variables its manifest forwards) are put in the agent program's environment when
//   the CLI runs it (agentEnvCommand).
// - Every service pinned to one node: the bottle's volumes and its agent live together.
// - `endpoint_mode: dnsrr`: service VIPs need IPVS, which some kernels lack; a name then
//   resolves to the task itself.
import { BOTTLE_HOME_LABEL, BOTTLE_SLUG_LABEL, composeProjectName } from "../contracts/agent.js";
import { type BottleMount, bottleMounts, type ServiceName } from "./bottle-mounts.js";
import type { DockerBottlePlan } from "./bottle-plan.js";
import type { ComposeHealthcheck, ComposeService, ComposeSpec, SidecarUser } from "./compose.js";

export interface SwarmFacts {
  /** The node every service of the bottle runs on (its hostname, as `docker node ls` shows). */
  node: string;
  /** Names of the bottle's secret variables, each an external secret made before deploy. */
  secretEnv: readonly string[];
  /** Who the Node sidecars run as: the owner of the files the swarm hands them. */
  sidecarUser: SidecarUser;
  /**
   * Each image's ID (`sha256:…`), by its tag. A node tries to pull a tag-named image at every
   * task start, and one that can reach a registry would run whatever the registry holds
   * under that name; an image named by ID is only ever the one loaded into the node.
   */
  imageIdOf(tag: string): string | undefined;
}

export interface SwarmFileRef {
  source: string;
  target: string;
  uid: string;
  gid: string;
  mode: number;
}

export interface SwarmMount {
  type: "volume" | "tmpfs";
  source?: string;
  target: string;
  read_only?: boolean;
}

export interface SwarmService {
  image: string;
  command?: string[];
  hostname?: string;
  networks: ComposeService["networks"];
  environment?: string[];
  configs?: SwarmFileRef[];
  secrets?: SwarmFileRef[];
  volumes?: SwarmMount[];
  extra_hosts?: string[];
  healthcheck?: Omit<ComposeHealthcheck, "start_interval">;
  init?: boolean;
  labels: Record<string, string>;
  user?: string;
  cap_drop?: string[];
  cap_add?: string[];
  read_only?: boolean;
  deploy: {
    mode: "replicated";
    replicas: 1;
    endpoint_mode: "dnsrr";
    placement: { constraints: string[] };
    restart_policy: { condition: "on-failure" | "none" };
    labels: Record<string, string>;
  };
}

export interface SwarmStack {
  /** The stack's name, as `docker stack deploy` takes it. */
  name: string;
  services: Partial<Record<ServiceName, SwarmService>>;
  networks: Record<
    "internal" | "egress",
    {
      name: string;
      driver: "overlay";
      internal?: boolean;
      attachable: false;
      labels: Record<string, string>;
    }
  >;
  configs: Record<string, { name: string; file: string; labels: Record<string, string> }>;
  secrets: Record<
    string,
    | { name: string; file: string; labels: Record<string, string> }
    | { name: string; external: true }
  >;
  volumes: Record<string, { name: string; labels: Record<string, string> }>;
}

/** Swarm object names are at most 64 characters; a slug is at most 48. */
export function swarmObjectName(slug: string, key: string): string {
  return `${slug}-${key}`.slice(0, 64);
}

export interface EnvSecret {
  /** Its key in the stack file. */
  key: string;
  /** The Swarm secret's name, created before deploy. */
  name: string;
  /** The variable it holds, and the file name under /run/secrets. */
  variable: string;
}

/** The external secrets of a bottle, one per secret variable, in one order for all callers. */
export function envSecrets(slug: string, variables: readonly string[]): EnvSecret[] {
  return [...variables].sort().map((variable, i) => ({
    key: `env${i}`,
    name: swarmObjectName(slug, `env${i}`),
    variable,
  }));
}

/** Each mount of the bottle with its key in the stack file: `<service><index in service>`. */
export function keyedMounts(plan: DockerBottlePlan): Array<{ key: string; mount: BottleMount }> {
  const seen = new Map<string, number>();
  return bottleMounts(plan).map((mount) => {
    const index = seen.get(mount.service) ?? 0;
    seen.set(mount.service, index + 1);
    return { key: `${mount.service}${index}`, mount };
  });
}

/** Where a live file's volume is mounted: a directory of its own, the file inside it. */
export const LIVE_FILES_DIR = "/run/claude-bottle/live";

export interface BottleVolume {
  /** Its key in the stack file. */
  key: string;
  /** The volume's name on the node. */
  name: string;
  mount: BottleMount;
  /** Where the service mounts it. */
  target: string;
  /** For a live file: its name inside the volume, where the service now reads it. */
  file: string | null;
}

/**
 * The volumes a bottle's live state becomes on its node: each directory the host or a sidecar
 * changes, and each live file (pipelock's policy), which a config could not carry (a config
 * never changes), in a directory of its own.
 */
export function bottleVolumes(plan: DockerBottlePlan): BottleVolume[] {
  return keyedMounts(plan)
    .filter(({ mount }) => mount.kind === "live")
    .map(({ key, mount }) => ({
      key,
      name: swarmObjectName(plan.slug, key),
      mount,
      target: mount.directory ? mount.target : `${LIVE_FILES_DIR}/${key}`,
      file: mount.directory ? null : (mount.target.split("/").pop() ?? key),
    }));
}

export function bottleToSwarmStack(
  plan: DockerBottlePlan,
  compose: ComposeSpec,
  facts: SwarmFacts,
): SwarmStack {
  const labels = { [BOTTLE_SLUG_LABEL]: plan.slug, [BOTTLE_HOME_LABEL]: plan.home };
  const stack: SwarmStack = {
    name: composeProjectName(plan.slug),
    services: {},
    networks: {
      internal: {
        name: plan.proxyPlan.internalNetwork,
        driver: "overlay",
        internal: true,
        attachable: false,
        labels: { ...labels },
      },
      egress: {
        name: plan.proxyPlan.egressNetwork,
        driver: "overlay",
        attachable: false,
        labels: { ...labels },
      },
    },
    configs: {},
    secrets: {},
    volumes: {},
  };
  const ctx: StackContext = {
    plan,
    stack,
    labels,
    secretEnv: envSecrets(plan.slug, facts.secretEnv),
    live: bottleVolumes(plan),
  };
  for (const s of ctx.secretEnv) stack.secrets[s.key] = { name: s.name, external: true };
  const mounts = keyedMounts(plan);
  for (const [serviceName, service] of Object.entries(compose.services) as Array<
    [ServiceName, ComposeService]
  >) {
    const own = mounts.filter(({ mount }) => mount.service === serviceName);
    stack.services[serviceName] = swarmService(ctx, serviceName, service, own, facts);
  }
  return stack;
}

/** What the services of one stack share as it is built. */
interface StackContext {
  plan: DockerBottlePlan;
  /** Its configs, secrets and volumes are added to as services mount them. */
  stack: SwarmStack;
  labels: Record<string, string>;
  secretEnv: ReturnType<typeof envSecrets>;
  live: BottleVolume[];
}

/** One Compose service as a swarm service pinned to the bottle's node. */
function swarmService(
  ctx: StackContext,
  serviceName: ServiceName,
  service: ComposeService,
  own: ReturnType<typeof keyedMounts>,
  facts: SwarmFacts,
): SwarmService {
  const image = facts.imageIdOf(service.image);
  if (image === undefined || !/^sha256:[0-9a-f]{64}$/.test(image)) {
    throw new Error(`no image ID for ${service.image}: a swarm service must name its image by ID`);
  }
  const out: SwarmService = {
    image,
    ...(service.command ? { command: service.command } : {}),
    networks: service.networks,
    labels: { ...ctx.labels },
    deploy: {
      mode: "replicated",
      replicas: 1,
      endpoint_mode: "dnsrr",
      placement: { constraints: [`node.hostname == ${facts.node}`] },
      // The agent is never restarted: it would come back unprovisioned. A sidecar that
      // crashes comes back, as under Compose; the bottle fails closed while it is down.
      restart_policy: { condition: service.restart === "on-failure" ? "on-failure" : "none" },
      labels: { ...ctx.labels },
    },
  };
  const owner =
    serviceName === "agent"
      ? AGENT_OWNER
      : service.user === undefined
        ? { uid: "0", gid: "0" }
        : ownerOf(service.user);
  // Literal entries stay; a bare name (a secret Compose would copy from its environment)
  // becomes a secret file of the same name.
  const literal = (service.environment ?? []).filter((e) => e.includes("="));
  if (literal.length > 0) out.environment = literal;
  const refs: StackRefs = { secrets: [], configs: [], volumes: [] };
  for (const bare of (service.environment ?? []).filter((e) => !e.includes("="))) {
    const secret = ctx.secretEnv.find((s) => s.variable === bare);
    if (secret === undefined) {
      throw new Error(`${serviceName} needs ${bare}, which is not a secret of the bottle`);
    }
    refs.secrets.push({ source: secret.key, target: bare, ...owner, mode: 0o400 });
  }
  for (const { key, mount } of own) mountInStack(ctx, out, refs, key, mount, owner);
  if (refs.configs.length > 0) out.configs = refs.configs;
  if (refs.secrets.length > 0) out.secrets = refs.secrets;
  if (service.read_only) refs.volumes.push({ type: "tmpfs", target: "/tmp" });
  if (refs.volumes.length > 0) out.volumes = refs.volumes;
  if (service.extra_hosts) out.extra_hosts = service.extra_hosts;
  if (service.healthcheck) {
    // A stack file has no start_interval: a check every 5 s (not 30) keeps the wait for a
    // healthy bottle short, at the cost of a node process per sidecar every 5 s.
    const { start_interval: _fast, ...check } = service.healthcheck;
    out.healthcheck = { ...check, interval: "5s" };
  }
  if (service.init) out.init = true;
  if (service.user !== undefined) out.user = service.user;
  if (service.cap_drop) out.cap_drop = service.cap_drop;
  if (service.cap_add) out.cap_add = service.cap_add;
  if (service.read_only) out.read_only = true;
  return out;
}

interface StackRefs {
  secrets: SwarmFileRef[];
  configs: SwarmFileRef[];
  volumes: SwarmMount[];
}

/**
 * One mount of a service: a live directory or file as a volume (the host's changes reach it
 * while the bottle runs), a secret file as a secret, any other file as a config.
 */
function mountInStack(
  ctx: StackContext,
  out: SwarmService,
  refs: StackRefs,
  key: string,
  m: BottleMount,
  owner: { uid: string; gid: string },
): void {
  if (m.kind === "program") return; // copied into the agent once it runs: no shared disk
  const { stack, labels, plan } = ctx;
  const volume = ctx.live.find((v) => v.key === key);
  if (volume !== undefined) {
    // Seeded before the stack starts; the host's changes reach it while the bottle runs.
    stack.volumes[key] = { name: volume.name, labels: { ...labels } };
    refs.volumes.push({
      type: "volume",
      source: key,
      target: volume.target,
      read_only: !m.writable,
    });
    // A live file moved into its volume: the service is told its new path.
    if (volume.file !== null && out.command !== undefined) {
      const moved = `${volume.target}/${volume.file}`;
      out.command = out.command.map((arg) => (arg === m.target ? moved : arg));
    }
  } else if (m.secret) {
    stack.secrets[key] = {
      name: swarmObjectName(plan.slug, key),
      file: m.source,
      labels: { ...labels },
    };
    refs.secrets.push({ source: key, target: m.target, ...owner, mode: 0o400 });
  } else {
    stack.configs[key] = {
      name: swarmObjectName(plan.slug, key),
      file: m.source,
      labels: { ...labels },
    };
    refs.configs.push({
      source: key,
      target: m.target,
      ...owner,
      mode: m.executable ? 0o555 : 0o444,
    });
  }
}

/** The agent user of the agent image (images/agent.Dockerfile: useradd --uid 1000). */
const AGENT_OWNER = { uid: "1000", gid: "1000" };
/** Where a swarm task finds its secrets. */
export const SWARM_SECRETS_DIR = "/run/secrets";

/** "$1" the secrets directory, "$2" the names (one word each, checked), then the command. */
const AGENT_ENV_SCRIPT = `d=$1; ns=$2; shift 2; for n in $ns; do v=$(cat "$d/$n") || { echo "claude-bottle: cannot read the agent's variable $n" >&2; exit 126; }; export "$n=$v"; done; exec "$@"`;

/**
 * `command` run with each of `names` in its environment, read from the file of that name in
 * `dir` (the agent's Swarm secrets) inside the container: no value in argv or in the service.
 * A file that cannot be read stops the command before it starts.
 */
export function agentEnvCommand(
  names: readonly string[],
  command: readonly string[],
  dir = SWARM_SECRETS_DIR,
): string[] {
  if (names.length === 0) return [...command];
  for (const name of [...names, dir]) {
    if (!/^[A-Za-z0-9_/.-]+$/.test(name)) throw new Error(`cannot put ${name} in a shell word`);
  }
  // The names and the directory reach the script as "$1" and "$2", never as its text.
  return ["sh", "-c", AGENT_ENV_SCRIPT, "sh", dir, names.join(" "), ...command];
}

function ownerOf(user: string): { uid: string; gid: string } {
  const [uid = "0", gid = uid] = user.split(":");
  return { uid, gid };
}
