// A three-node Docker Swarm for engine tests: privileged containers running their own
// Docker engine (images/swarm-node/Dockerfile) on a network of their own, the first the
// manager, the others joined as workers, with the images a test needs loaded into each.
// The host's docker CLI reaches each node's engine through a unix socket that engine serves
// in a directory bind-mounted from the host (`dockerHost`, a DOCKER_HOST value), as a
// backend would through a docker context per node; tests also go through
// `docker exec <node> docker …`.
// The nodes' only DNS server is a recorder on that network (dns-recorder.ts) that answers
// NXDOMAIN: no lookup leaves the machine, so no node can pull an image, even one named by tag.
// Everything it makes carries the run's label and its owner (host and pid): `removeSwarm`
// removes one run, `sweepSwarmLeftovers` the runs of processes that died.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { NODE_ENGINE_LABEL } from "../../../src/backend/swarm/swarm-engines.js";
import type { ProcessResult } from "../docker/git-gate-docker.js";
import { waitFor } from "../docker/wait-for.js";
import { type DnsRecorder, dnsRecorderOf, startDnsRecorder } from "./dns-recorder.js";
import { pipeImages, type RunOptions, runDocker } from "./docker-process.js";
import { ensureNodeImage } from "./node-image.js";

/** The run a resource belongs to: its value is the run's id. */
export const SWARM_RUN_LABEL = "dev.claude-bottle.test.swarm";
/** `<hostname>:<pid>` of the process that made it, so a later run knows a dead run's leftovers. */
export const SWARM_OWNER_LABEL = "dev.claude-bottle.test.swarm.owner";
/** The host directory holding the nodes' sockets, removed with the run. */
export const SWARM_SOCKET_DIR_LABEL = "dev.claude-bottle.test.swarm.socket-dir";
/** Where a node's engine serves its second socket, inside the node. */
const NODE_SOCKET_DIR = "/run/swarm-host";

export interface SwarmNode {
  /** The node's container name, also its hostname: what `docker service ps` calls it. */
  container: string;
  role: "manager" | "worker";
  /** Its address on the fixture's network. */
  address: string;
  /** DOCKER_HOST for the host's docker CLI to talk to this node's engine. */
  dockerHost: string;
  /** `docker exec -i <node> docker <args>`: that node's own engine. */
  docker(args: readonly string[], options?: RunOptions): Promise<ProcessResult>;
}

export interface SwarmTimings {
  /** False when the node image's content-hash tag was already there. */
  nodeImageBuilt: boolean;
  nodeImageMs: number;
  /** Network and containers created, every node's engine answering. */
  nodesMs: number;
  /** `swarm init`, two joins, three nodes Ready. */
  swarmMs: number;
  /** `docker save | docker load` of the requested images into the nodes lacking them. */
  imagesMs: number;
  totalMs: number;
}

export interface ImageLoad {
  image: string;
  node: string;
}

export interface StartedSwarm {
  id: string;
  network: string;
  /** The network's gateway: the host, as the nodes see it. */
  gateway: string;
  nodes: readonly SwarmNode[];
  manager: SwarmNode;
  /** DOCKER_HOST for the host's docker CLI to talk to the manager. */
  managerHost: string;
  /** The nodes' only DNS server: every lookup that left a node, by name. */
  dns: DnsRecorder;
  /** The host's docker CLI against the manager (files named in a stack are read from here). */
  docker(args: readonly string[], options?: RunOptions): Promise<ProcessResult>;
  /** The node whose hostname `docker service ps` printed. */
  node(hostname: string): SwarmNode;
  /**
   * Loads each image into every node (or those given) whose copy is missing or has another
   * ID, and says which it loaded where.
   */
  loadImages(images: readonly string[], nodes?: readonly SwarmNode[]): Promise<ImageLoad[]>;
  timings: SwarmTimings;
}

export interface SwarmOptions {
  /** Images to load into every node before returning. */
  images?: readonly string[];
  nodeCount?: number;
}

const owner = `${hostname()}:${process.pid}`;

function labelArgs(id: string): string[] {
  return ["--label", `${SWARM_RUN_LABEL}=${id}`, "--label", `${SWARM_OWNER_LABEL}=${owner}`];
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

function nodeOn(
  container: string,
  role: SwarmNode["role"],
  where: { address: string; dockerHost: string },
): SwarmNode {
  return {
    container,
    role,
    ...where,
    docker: (args, options) => runDocker(["exec", "-i", container, "docker", ...args], options),
  };
}

async function addressOn(container: string, network: string): Promise<string> {
  const format = `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`;
  return (await runDocker(["inspect", "-f", format, container])).stdout.trim();
}

async function imageId(image: string, node?: SwarmNode): Promise<string | null> {
  const args = ["image", "inspect", "-f", "{{.Id}}", image];
  const r = await (node === undefined
    ? runDocker(args, { allowFailure: true })
    : node.docker(args, { allowFailure: true }));
  return r.code === 0 ? r.stdout.trim() : null;
}

/** Starts the swarm; on any failure removes what it made and rethrows the first error. */
export async function startSwarm(options: SwarmOptions = {}): Promise<StartedSwarm> {
  const started = Date.now();
  await sweepSwarmLeftovers();
  const id = randomBytes(4).toString("hex");
  try {
    return await buildSwarm(id, started, options);
  } catch (error) {
    await removeSwarm(id).catch(() => {});
    throw error;
  }
}

async function buildSwarm(
  id: string,
  started: number,
  options: SwarmOptions,
): Promise<StartedSwarm> {
  const nodeCount = options.nodeCount ?? 3;
  const image = await ensureNodeImage();
  const imageDone = Date.now();

  // The directory first, so that the network's label names it should anything fail later.
  const socketDir = await mkdtemp(join(tmpdir(), `cbswarm-${id}-`));
  const socketLabel = ["--label", `${SWARM_SOCKET_DIR_LABEL}=${socketDir}`];
  const network = `cbswarm-${id}`;
  await runDocker(["network", "create", ...labelArgs(id), ...socketLabel, network]);
  const dns = await startDnsRecorder({
    name: `cbswarm-${id}-dns`,
    network,
    labels: labelArgs(id),
  });
  const names = Array.from({ length: nodeCount }, (_, i) => `cbswarm-${id}-node${i + 1}`);
  await Promise.all(
    names.map((name) => {
      // An anonymous volume for the engine's state: `rm -v` removes it, its labels find it.
      const volume = `type=volume,dst=/var/lib/docker,volume-label=${SWARM_RUN_LABEL}=${id},volume-label=${SWARM_OWNER_LABEL}=${owner}`;
      return runDocker([
        "run",
        "-d",
        "--privileged",
        "--name",
        name,
        "--hostname",
        name,
        "--network",
        network,
        "--dns",
        dns.address,
        ...labelArgs(id),
        ...socketLabel,
        "--mount",
        volume,
        "-v",
        `${join(socketDir, name)}:${NODE_SOCKET_DIR}`,
        image.tag,
        "--host",
        `unix://${NODE_SOCKET_DIR}/docker.sock`,
      ]);
    }),
  );
  const nodes = await Promise.all(
    names.map(async (name, i) => {
      const node = nodeOn(name, i === 0 ? "manager" : "worker", {
        address: await addressOn(name, network),
        dockerHost: `unix://${join(socketDir, name, "docker.sock")}`,
      });
      await waitFor(
        `the engine in ${name}`,
        async () =>
          (await node.docker(["info"], { allowFailure: true })).code === 0 ? true : null,
        60_000,
        200,
      );
      return node;
    }),
  );
  const nodesDone = Date.now();

  const [manager, ...workers] = nodes as [SwarmNode, ...SwarmNode[]];
  await manager.docker([
    "swarm",
    "init",
    "--advertise-addr",
    manager.address,
    "--listen-addr",
    `${manager.address}:2377`,
  ]);
  const token = (await manager.docker(["swarm", "join-token", "-q", "worker"])).stdout.trim();
  // The token on stdin, not in the host's process list.
  await Promise.all(
    workers.map((w) =>
      runDocker(
        [
          "exec",
          "-i",
          w.container,
          "sh",
          "-c",
          'read -r t; exec docker swarm join --token "$t" "$1"',
          "sh",
          `${manager.address}:2377`,
        ],
        { input: `${token}\n` },
      ),
    ),
  );
  await waitFor(
    `${nodeCount} swarm nodes Ready`,
    async () => {
      const r = await manager.docker(["node", "ls", "--format", "{{.Status}}"]);
      const ready = lines(r.stdout).filter((s) => s === "Ready").length;
      return ready === nodeCount ? true : null;
    },
    60_000,
    200,
  );
  const swarmDone = Date.now();

  const swarm = swarmFromInfo({
    id,
    network,
    gateway: (
      await runDocker(["network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", network])
    ).stdout.trim(),
    nodes: nodes.map(({ container, role, address, dockerHost }) => ({
      container,
      role,
      address,
      dockerHost,
    })),
    dns: { container: dns.container, address: dns.address },
    timings: {
      nodeImageBuilt: image.built,
      nodeImageMs: imageDone - started,
      nodesMs: nodesDone - imageDone,
      swarmMs: swarmDone - nodesDone,
      imagesMs: 0,
      totalMs: 0,
    },
  });
  await swarm.loadImages(options.images ?? []);
  const end = Date.now();
  swarm.timings.imagesMs = end - swarmDone;
  swarm.timings.totalMs = end - started;
  return swarm;
}

/**
 * What another process needs to use a started swarm (a vitest globalSetup hands it to the
 * test files): plain data, rebuilt into a StartedSwarm by `swarmFromInfo`.
 */
export interface SwarmInfo {
  id: string;
  network: string;
  gateway: string;
  nodes: Array<Pick<SwarmNode, "container" | "role" | "address" | "dockerHost">>;
  dns: { container: string; address: string };
  timings: SwarmTimings;
}

export function swarmInfo(swarm: StartedSwarm): SwarmInfo {
  return {
    id: swarm.id,
    network: swarm.network,
    gateway: swarm.gateway,
    nodes: swarm.nodes.map(({ container, role, address, dockerHost }) => ({
      container,
      role,
      address,
      dockerHost,
    })),
    dns: { container: swarm.dns.container, address: swarm.dns.address },
    timings: { ...swarm.timings },
  };
}

/** The swarm `info` describes, with its docker CLIs: started here or by another process. */
export function swarmFromInfo(info: SwarmInfo): StartedSwarm {
  const { id, network, gateway } = info;
  const nodes = info.nodes.map((n) => nodeOn(n.container, n.role, n));
  const manager = nodes.find((n) => n.role === "manager");
  if (manager === undefined) throw new Error(`swarm ${id} has no manager`);
  const managerHost = manager.dockerHost;
  const swarm: StartedSwarm = {
    id,
    network,
    gateway,
    nodes,
    manager,
    managerHost,
    dns: dnsRecorderOf(info.dns),
    docker: (args, runOptions) =>
      runDocker(args, { ...runOptions, env: { ...runOptions?.env, DOCKER_HOST: managerHost } }),
    node(name) {
      const found = nodes.find((n) => n.container === name);
      if (found === undefined) throw new Error(`no swarm node named ${name} in run ${id}`);
      return found;
    },
    async loadImages(images, only = nodes) {
      const hostIds = new Map<string, string>();
      for (const wanted of images) {
        const hostId = await imageId(wanted);
        if (hostId === null) throw new Error(`image ${wanted} is not on the host: build it first`);
        hostIds.set(wanted, hostId);
      }
      const perNode = await Promise.all(
        only.map(async (n) => {
          const lacking: string[] = [];
          for (const [wanted, hostId] of hostIds) {
            if ((await imageId(wanted, n)) !== hostId) lacking.push(wanted);
          }
          // One stream per node: images sharing layers (the sidecars share the Node image's)
          // send them once.
          if (lacking.length > 0) await pipeImages(lacking, n.container);
          return lacking.map((image) => ({ image, node: n.container }));
        }),
      );
      return perNode.flat();
    },
    timings: { ...info.timings },
  };
  return swarm;
}

/** One line for a test's output: where the fixture's setup time went. */
export function describeTimings(t: SwarmTimings): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return `swarm fixture: node image ${s(t.nodeImageMs)} (${t.nodeImageBuilt ? "built" : "cached"}), nodes ${s(t.nodesMs)}, swarm ${s(t.swarmMs)}, images ${s(t.imagesMs)}, total ${s(t.totalMs)}`;
}

interface Leftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
}

async function listByLabel(label: string): Promise<Leftovers & { socketDirs: string[] }> {
  const filter = ["--filter", `label=${label}`];
  const named = (name: string) => `${name}\t{{.Label "${SWARM_SOCKET_DIR_LABEL}"}}`;
  const [containers, networks, volumes] = await Promise.all([
    runDocker(["ps", "-a", ...filter, "--format", named("{{.Names}}")]),
    runDocker(["network", "ls", ...filter, "--format", named("{{.Name}}")]),
    runDocker(["volume", "ls", ...filter, "--format", "{{.Name}}"]),
  ]);
  const rows = [containers, networks].map((r) => lines(r.stdout).map((l) => l.split("\t")));
  const dirs = rows.flat().map((r) => r[1] ?? "");
  return {
    containers: (rows[0] ?? []).map((r) => r[0] ?? ""),
    networks: (rows[1] ?? []).map((r) => r[0] ?? ""),
    volumes: lines(volumes.stdout),
    // Only a directory this fixture would have made.
    socketDirs: [...new Set(dirs)].filter((d) => d.startsWith(join(tmpdir(), "cbswarm-"))),
  };
}

/** What is left of a run: empty lists when it is all gone. */
export async function swarmLeftovers(id: string): Promise<Leftovers> {
  const { containers, networks, volumes } = await listByLabel(`${SWARM_RUN_LABEL}=${id}`);
  return { containers, networks, volumes };
}

/**
 * Removes a run's nodes (their engines, stacks and tasks go with them), their volumes, its
 * network and the manager's socket directory, and returns whatever is left.
 */
export async function removeSwarm(id: string): Promise<Leftovers> {
  const found = await listByLabel(`${SWARM_RUN_LABEL}=${id}`);
  if (found.containers.length > 0) {
    await runDocker(["rm", "-f", "-v", ...found.containers], { allowFailure: true });
  }
  for (const n of found.networks) await runDocker(["network", "rm", n], { allowFailure: true });
  const volumes = await listByLabel(`${SWARM_RUN_LABEL}=${id}`);
  if (volumes.volumes.length > 0) {
    await runDocker(["volume", "rm", "-f", ...volumes.volumes], { allowFailure: true });
  }
  await Promise.all(found.socketDirs.map((d) => rm(d, { recursive: true, force: true })));
  return swarmLeftovers(id);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the runs whose owner on this host is no longer alive (a crashed or killed test
 * process), and returns their ids. Runs of live processes, this one's included, stay.
 */
export async function sweepSwarmLeftovers(): Promise<string[]> {
  const runs = new Map<string, string>();
  const format = `{{.Label "${SWARM_RUN_LABEL}"}}\t{{.Label "${SWARM_OWNER_LABEL}"}}`;
  const filter = ["--filter", `label=${SWARM_RUN_LABEL}`, "--format", format];
  for (const listing of await Promise.all([
    runDocker(["ps", "-a", ...filter]),
    runDocker(["network", "ls", ...filter]),
    runDocker(["volume", "ls", ...filter]),
  ])) {
    for (const [id = "", by = ""] of lines(listing.stdout).map((l) => l.split("\t"))) {
      if (id !== "") runs.set(id, by);
    }
  }
  const dead = [...runs].filter(([, by]) => {
    const [host, pid] = by.split(":");
    return host === hostname() && !processAlive(Number(pid));
  });
  for (const [id] of dead) await removeSwarm(id);
  return dead.map(([id]) => id);
}

/** Labels each node with where its engine answers, as an administrator would. */
export async function labelNodeEngines(swarm: StartedSwarm): Promise<void> {
  for (const node of swarm.nodes) {
    await swarm.docker([
      "node",
      "update",
      "--label-add",
      `${NODE_ENGINE_LABEL}=${node.dockerHost}`,
      node.container,
    ]);
  }
}
