// How the CLI reaches a swarm: its manager, for the stack and everything swarm-wide, and
// each node's own engine, for what the swarm API does not do (exec into a task's container,
// copy files in and out, load an image). A node says where its engine is with a label its
// administrator sets once:
//   docker node update --label-add dev.claude-bottle.engine=ssh://me@node2 node2
import { spawn } from "node:child_process";
import { BOTTLE_HOME_LABEL, BOTTLE_SLUG_LABEL } from "../../contracts/agent.js";
import type { DockerBottlePlan } from "../../core/bottle-plan.js";
import { BottleError } from "../../shared/errors.js";
import type { DockerClient, RunOptions, RunResult } from "../engine/docker-client.js";

export const NODE_ENGINE_LABEL = "dev.claude-bottle.engine";
/** The label the swarm puts on each of a stack's tasks, naming the stack. */
export const STACK_LABEL = "com.docker.stack.namespace";
/** The manager's engine, as DOCKER_HOST takes it; unset: this machine's engine. */
export const SWARM_HOST_ENV = "CLAUDE_BOTTLE_SWARM_HOST";
/** The node to run bottles on; unset: the ready node with the fewest bottles. */
export const SWARM_NODE_ENV = "CLAUDE_BOTTLE_SWARM_NODE";

/** A DockerClient aimed at one engine (`docker --host ADDRESS …`). */
export class EngineAt implements DockerClient {
  constructor(
    private readonly inner: DockerClient,
    readonly address: string | null,
  ) {}

  run(args: readonly string[], options?: RunOptions): Promise<RunResult> {
    return this.inner.run(
      this.address === null ? args : ["--host", this.address, ...args],
      options,
    );
  }

  /** Another engine (a node's), reached through the same client. */
  at(address: string | null): EngineAt {
    return new EngineAt(this.inner, address);
  }
}

/** The swarm as a backend's helpers reach it: its manager, and the CLI's progress lines. */
export interface SwarmAt {
  manager: EngineAt;
  progress: (line: string) => void;
}

export interface SwarmNode {
  id: string;
  hostname: string;
  ready: boolean;
  /** Its engine's address from the node label; null when it has none. */
  engine: string | null;
}

interface NodeInspect {
  ID: string;
  Spec?: { Labels?: Record<string, string>; Availability?: string };
  Description?: { Hostname?: string };
  Status?: { State?: string };
}

export async function listNodes(manager: DockerClient): Promise<SwarmNode[]> {
  const ids = (await manager.run(["node", "ls", "-q"])).stdout.split("\n").filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = JSON.parse(
    (await manager.run(["node", "inspect", ...ids])).stdout,
  ) as NodeInspect[];
  return inspected.map((n) => ({
    id: n.ID,
    hostname: n.Description?.Hostname ?? n.ID,
    ready: n.Status?.State === "ready" && n.Spec?.Availability === "active",
    engine: n.Spec?.Labels?.[NODE_ENGINE_LABEL] ?? null,
  }));
}

/**
 * The node a new bottle runs on: the one named, or one of the ready ones with the fewest
 * `load`, picked at random among equals, so bottles started at the same moment (which all
 * see the same counts) spread over the nodes instead of piling onto the first.
 */
export function chooseNode(
  nodes: readonly SwarmNode[],
  load: ReadonlyMap<string, number>,
  wanted: string | undefined,
  random: () => number = Math.random,
): SwarmNode {
  const usable = nodes.filter((n) => n.ready && n.engine !== null);
  if (wanted !== undefined && wanted !== "") {
    const node = nodes.find((n) => n.hostname === wanted);
    if (node === undefined) {
      throw new BottleError(`${SWARM_NODE_ENV}=${wanted}: the swarm has no such node`, {
        hint: `nodes: ${nodes.map((n) => n.hostname).join(", ") || "none"}`,
      });
    }
    if (!usable.includes(node)) {
      throw new BottleError(`node ${wanted} cannot run bottles: ${whyUnusable(node)}`, {
        hint: engineHint(node),
      });
    }
    return node;
  }
  const least = Math.min(...usable.map((n) => load.get(n.hostname) ?? 0));
  const equals = usable.filter((n) => (load.get(n.hostname) ?? 0) === least);
  const first = equals[Math.floor(random() * equals.length)];
  if (first === undefined) {
    const lines = nodes.map((n) => `${n.hostname}: ${whyUnusable(n)}`);
    throw new BottleError(
      `no node of the swarm can run bottles${lines.length ? `\n${lines.join("\n")}` : ""}`,
      {
        hint: nodes[0] ? engineHint(nodes[0]) : "join a node to the swarm",
      },
    );
  }
  return first;
}

function whyUnusable(node: SwarmNode): string {
  if (!node.ready) return "not ready and active";
  if (node.engine === null) return `no ${NODE_ENGINE_LABEL} label saying where its engine is`;
  return "usable";
}

function engineHint(node: SwarmNode): string {
  return `label each node with its engine's address: docker node update --label-add ${NODE_ENGINE_LABEL}=ssh://user@${node.hostname} ${node.hostname}`;
}

/**
 * Makes `node` hold `images` as this machine has them, and returns each one's ID (which
 * `docker load` keeps): those whose ID differs there go across in one `docker save | docker
 * load` stream; no registry is needed.
 */
export async function shipImages(
  local: DockerClient,
  node: EngineAt,
  images: readonly string[],
  progress: (line: string) => void,
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  const missing: string[] = [];
  for (const image of images) {
    const here = await imageId(local, image);
    if (here === null) throw new BottleError(`image ${image} is not on this machine`);
    ids[image] = here;
    if ((await imageId(node, image)) !== here) missing.push(image);
  }
  if (missing.length > 0) {
    const started = Date.now();
    progress(`copying ${missing.length} image(s) to the node…`);
    await pipeImages(missing, node.address);
    progress(`copied the images in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
  return ids;
}

async function imageId(docker: DockerClient, image: string): Promise<string | null> {
  const r = await docker.run(["image", "inspect", "--format", "{{.Id}}", image], {
    allowFailure: true,
  });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

function pipeImages(images: readonly string[], address: string | null): Promise<void> {
  const what = images.join(" ");
  return new Promise((resolve, reject) => {
    const save = spawn("docker", ["save", ...images], { stdio: ["ignore", "pipe", "pipe"] });
    const load = spawn("docker", [...(address === null ? [] : ["--host", address]), "load", "-q"], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    let errors = "";
    save.stderr.on("data", (d: Buffer) => {
      errors += d.toString();
    });
    load.stderr.on("data", (d: Buffer) => {
      errors += d.toString();
    });
    save.stdout.pipe(load.stdin);
    let pending = 2;
    let failed = false;
    const done = (step: string) => (code: number | null) => {
      if (code !== 0 && !failed) {
        failed = true;
        save.kill();
        load.kill();
        reject(
          new BottleError(
            `docker ${step} of ${what} failed: ${errors.trim().split("\n").pop() ?? ""}`,
          ),
        );
      }
      if (--pending === 0 && !failed) resolve();
    };
    save.on("close", done("save"));
    load.on("close", done("load"));
    save.on("error", reject);
    load.on("error", reject);
  });
}

/** The labels that find a bottle's swarm objects: its slug and the home that owns it. */
export function labelArgs(plan: DockerBottlePlan): string[] {
  return [
    "--label",
    `${BOTTLE_SLUG_LABEL}=${plan.slug}`,
    "--label",
    `${BOTTLE_HOME_LABEL}=${plan.home}`,
  ];
}
