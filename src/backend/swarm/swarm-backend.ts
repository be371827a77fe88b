import { rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { AGENT_PACKAGE_IN_CONTAINER } from "../../agents/agent-provider.js";
import { composeProjectName } from "../../contracts/agent.js";
import type { DockerBottlePlan } from "../../core/bottle-plan.js";
import { bottlePlanToCompose } from "../../core/compose.js";
import { renderStackYaml } from "../../core/stack-yaml.js";
import { stateRootOf } from "../../core/state-layout.js";
import { agentEnvCommand, bottleToSwarmStack } from "../../core/swarm-stack.js";
import { BottleError } from "../../shared/errors.js";
import type {
  AgentHandle,
  Backend,
  FoundBottle,
  OpenLog,
  PolicyChange,
  RemovalBounds,
  Rendering,
  StartedBottle,
  UpOptions,
} from "../backend.js";
import {
  agentProvisionOf,
  ensurePlanImages,
  startingMetadata,
  startOrRemove,
} from "../bottle-lifecycle.js";
import { readMetadata, writeMetadata } from "../bottle-state.js";
import { readComposeFacts } from "../compose-facts.js";
import { attachAgent } from "../engine/attach-agent.js";
import { DEFAULT_REMOVAL_BOUNDS } from "../engine/discover-bottles.js";
import { boundedClient } from "../engine/docker-client.js";
import { type BottleEventOf, bottleEventIn, bottleEvents } from "../engine/engine-events.js";
import { NODE_IMAGE } from "../engine/images.js";
import { provisionAgent } from "../engine/provision-agent.js";
import { spawnStartGuard } from "../engine/start-guard.js";
import { loadPlanFile } from "../plan-file.js";
import { type PreparedBottle, prepareBottle } from "../prepare-bottle.js";
import type { LaunchContext, StartPlan } from "../start-plan.js";
import { yamlRendering } from "../yaml-rendering.js";
import { serviceLogs } from "./service-logs.js";
import {
  createKeeper,
  keeperName,
  runningContainer,
  type StateMirror,
  startStateMirror,
  waitUntilOnNode,
} from "./state-mirror.js";
import { bottlesPerNode, deployStack, warnWithoutNoNewPrivileges } from "./swarm-deploy.js";
import {
  chooseNode,
  EngineAt,
  listNodes,
  SWARM_HOST_ENV,
  SWARM_NODE_ENV,
  type SwarmAt,
  shipImages,
} from "./swarm-engines.js";
import { assertGoneFromSwarm, removeFromSwarm } from "./swarm-removal.js";
import { agentTask, listSwarmBottles } from "./swarm-tasks.js";

/**
 * The bottle's plan (names and paths, no values), kept beside its metadata: a CLI that takes
 * the bottle over (resume) needs it to carry approvals to the node.
 */
const SWARM_PLAN_FILE = "swarm-plan.json";
/** How long an approval waits for the attached CLI to take it to the node (about 1 s). */
const ON_NODE_TIMEOUT_MS = 15_000;

export class SwarmBackend implements Backend {
  readonly name = "swarm";
  readonly summary =
    `a Docker Swarm stack on one node (manager: $${SWARM_HOST_ENV}, or this engine)`;
  private readonly manager: EngineAt;
  /** The state mirrors this CLI runs, by slug. */
  private readonly mirrors = new Map<string, StateMirror>();

  /** The manager, and where this CLI says what it is doing. */
  private readonly swarm: SwarmAt;
  readonly openLog: OpenLog;

  constructor(private readonly ctx: LaunchContext) {
    this.manager = new EngineAt(ctx.docker, ctx.env[SWARM_HOST_ENV] || null);
    this.swarm = { manager: this.manager, progress: ctx.progress };
    // The manager gathers each log from the sidecar's node.
    this.openLog = serviceLogs(this.manager.address);
  }

  private where(): string {
    return this.manager.address ?? "this machine's engine";
  }

  async preflight(): Promise<void> {
    const info = await this.manager.run(
      ["info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"],
      { allowFailure: true },
    );
    if (info.exitCode !== 0) {
      throw new BottleError(`no Docker engine answers at ${this.where()}`, {
        hint: `set ${SWARM_HOST_ENV} to a swarm manager's engine (as DOCKER_HOST takes it: ssh://user@host, unix:///path)`,
      });
    }
    if (info.stdout.trim() !== "active true") {
      throw new BottleError(`the engine at ${this.where()} is not a swarm manager`, {
        hint: `run \`docker swarm init\` there, or set ${SWARM_HOST_ENV} to a manager's engine`,
      });
    }
    chooseNode(await listNodes(this.manager), new Map(), this.ctx.env[SWARM_NODE_ENV]);
  }

  async render(plan: StartPlan): Promise<Rendering> {
    const node = this.ctx.env[SWARM_NODE_ENV] || "(the node chosen at start)";
    // Images are named by ID once built; a dry run shows where each ID goes.
    const note = `# Each image is named by its ID when the bottle starts; sha256:0… stands for it here.\n`;
    const stack = this.stackOf(plan, node, () => `sha256:${"0".repeat(64)}`);
    return yamlRendering(plan, [{ name: "stack.yaml", text: note + renderStackYaml(stack) }]);
  }

  /** The bottle's stack on `node`, each image named by `idOf(tag)`. */
  private stackOf(plan: StartPlan, node: string, idOf: (tag: string) => string | undefined) {
    const p = plan.blueprint.plan;
    const facts = readComposeFacts(p);
    return bottleToSwarmStack(p, bottlePlanToCompose(p, facts), {
      node,
      secretEnv: Object.keys(plan.composeEnv),
      sidecarUser: facts.sidecarUser,
      imageIdOf: idOf,
    });
  }

  async up(plan: StartPlan, options: UpOptions = {}): Promise<StartedBottle> {
    const { blueprint } = plan;
    const slug = blueprint.plan.slug;
    const project = composeProjectName(slug);
    if (blueprint.plan.useRunsc) {
      this.ctx.progress("the swarm chooses each task's runtime: this bottle runs under runc");
    }
    const node = chooseNode(
      await listNodes(this.manager),
      await bottlesPerNode(this.manager),
      this.ctx.env[SWARM_NODE_ENV],
    );
    const nodeEngine = this.manager.at(node.engine);
    await warnWithoutNoNewPrivileges(this.swarm, nodeEngine, node.hostname);
    const prepared = await prepareBottle(blueprint, { now: this.ctx.now() });
    let deployed = false;
    let mirror: StateMirror | null = null;
    return startOrRemove(plan, prepared, options, {
      remove: async (bounds = DEFAULT_REMOVAL_BOUNDS) => {
        await mirror?.stop();
        this.mirrors.delete(slug);
        if (!deployed) return;
        await removeFromSwarm(this.swarm, { slug, project }, nodeEngine, bounds);
        await assertGoneFromSwarm(this.swarm, slug, nodeEngine, bounds);
      },
      start: async () => {
        await this.recordStart(plan, node.hostname);
        const imageIds = await shipImages(
          this.ctx.docker,
          nodeEngine,
          [...new Set([...(await ensurePlanImages(plan, this.ctx)), NODE_IMAGE])],
          this.ctx.progress,
        );
        deployed = true;
        this.ctx.progress(`seeding bottle ${slug}'s volumes on ${node.hostname}…`);
        const keeper = await createKeeper(nodeEngine, blueprint.plan);
        const agent = await deployStack(
          this.swarm,
          plan,
          this.stackOf(plan, node.hostname, (tag) => imageIds[tag]),
          { name: node.hostname, engine: nodeEngine },
          options,
        );
        await this.provision(plan, prepared, nodeEngine, agent);
        // Approvals made here reach the node, and the agent's proposals come here.
        mirror = startStateMirror({
          node: nodeEngine,
          plan: blueprint.plan,
          keeper,
          containerOf: (service) => runningContainer(nodeEngine, `${project}_${service}`),
          progress: this.ctx.progress,
        });
        this.mirrors.set(slug, mirror);
        await mirror.sync();
      },
    });
  }

  /** The bottle's state as its start begins, the guard that removes it if this process dies. */
  private async recordStart(plan: StartPlan, nodeName: string): Promise<void> {
    const { blueprint } = plan;
    const slug = blueprint.plan.slug;
    await writeMetadata(blueprint.stateDir, {
      ...startingMetadata(blueprint, this.ctx.now()),
      backend: this.name,
      node: nodeName,
    });
    // The stack goes on converging if this process is killed: the guard removes it.
    spawnStartGuard(
      {
        pid: process.pid,
        slug,
        project: composeProjectName(slug),
        stateDir: blueprint.stateDir,
        backend: this.name,
        home: this.ctx.home,
      },
      this.ctx.env,
    );
    await writeFile(
      join(blueprint.stateDir, SWARM_PLAN_FILE),
      `${JSON.stringify(blueprint.plan)}\n`,
      {
        mode: 0o600,
      },
    );
  }

  /** The agent program (when cached), then what provisioning writes into the agent. */
  private async provision(
    plan: StartPlan,
    prepared: PreparedBottle,
    nodeEngine: EngineAt,
    agent: string,
  ): Promise<void> {
    const { agentPackage } = plan.blueprint.plan;
    if (agentPackage !== null) {
      this.ctx.progress("copying the agent program in…");
      await nodeEngine.run([
        "exec",
        "-u",
        "root",
        agent,
        "mkdir",
        "-p",
        AGENT_PACKAGE_IN_CONTAINER,
      ]);
      await nodeEngine.run([
        "cp",
        `${agentPackage.hostDir}/.`,
        `${agent}:${AGENT_PACKAGE_IN_CONTAINER}`,
      ]);
    }
    this.ctx.progress("provisioning the agent…");
    await provisionAgent(nodeEngine, agentProvisionOf(plan, prepared, agent));
  }

  async agent(bottle: { slug: string }): Promise<AgentHandle> {
    const { engine, container } = await agentTask(this.manager, bottle.slug);
    return { docker: engine, container };
  }

  async exec(bottle: { slug: string }, options: Parameters<Backend["exec"]>[1]): Promise<number> {
    const agent = await agentTask(this.manager, bottle.slug);
    const plan = await this.keptPlan(bottle.slug);
    const adopted = await this.adoptMirror(bottle.slug, agent.engine, plan);
    // The host variables the manifest forwards: Swarm secrets in the agent's task, put in the
    // program's environment as it starts.
    const forwarded = plan instanceof Error ? [] : plan.forwardedEnv;
    try {
      return await attachAgent(
        { docker: agent.engine, progress: this.ctx.progress },
        agent.container,
        options,
        (command) => agentEnvCommand(forwarded, command),
      );
    } finally {
      await adopted?.stop();
    }
  }

  /** The plan the bottle was started with, kept in its state directory; or why it cannot be read. */
  private async keptPlan(slug: string): Promise<DockerBottlePlan | Error> {
    const planPath = join(stateRootOf(this.ctx.home), slug, SWARM_PLAN_FILE);
    try {
      return await loadPlanFile(planPath);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /**
   * The state mirror of a bottle this CLI has taken over (resume sets its pid in the metadata
   * first): its start CLI, which ran the mirror, is gone, and approvals made here would not
   * reach the node otherwise. Null when another CLI runs it, or this one already does.
   */
  private async adoptMirror(
    slug: string,
    node: EngineAt,
    plan: DockerBottlePlan | Error,
  ): Promise<StateMirror | null> {
    if (this.mirrors.has(slug)) return null;
    const stateDir = join(stateRootOf(this.ctx.home), slug);
    if ((await readMetadata(stateDir))?.pid !== process.pid) return null;
    if (plan instanceof Error) {
      this.ctx.progress(
        `warning: approvals made now will not reach bottle ${slug}: ${plan.message}`,
      );
      return null;
    }
    const project = composeProjectName(slug);
    const mirror = startStateMirror({
      node,
      plan,
      keeper: keeperName(slug),
      containerOf: (service) => runningContainer(node, `${project}_${service}`),
      progress: this.ctx.progress,
    });
    this.mirrors.set(slug, mirror);
    await mirror.sync();
    return {
      sync: () => mirror.sync(),
      stop: async () => {
        this.mirrors.delete(slug);
        await mirror.stop();
      },
    };
  }

  list(): Promise<FoundBottle[]> {
    return listSwarmBottles(this.manager, this.ctx.home);
  }

  /**
   * The sidecars run on another machine: the CLI attached to the bottle carries each change
   * to the node and signals pipelock there (state-mirror.ts). Waits until it has.
   */
  async putInForce(
    bottle: { slug: string; stateDir: string },
    change: PolicyChange,
  ): Promise<string[]> {
    const source = change.kind === "gitleaks-allow" ? dirname(change.path) : change.path;
    if (await waitUntilOnNode(source, ON_NODE_TIMEOUT_MS)) return [];
    const node = (await readMetadata(bottle.stateDir))?.node ?? "its node";
    return [
      `not yet in force on swarm node ${node}: the CLI attached to this bottle (\`start\`, or \`resume\` if that one is gone) takes it there while it runs`,
    ];
  }

  async sidecarLog(bottle: FoundBottle, service: "pipelock", lines: number): Promise<string> {
    if (!bottle.containers.some((c) => c.service === service)) return "";
    // The manager gathers the log from the sidecar's node.
    const logs = await this.manager.run(
      ["service", "logs", "--raw", "--tail", String(lines), `${bottle.project}_${service}`],
      { allowFailure: true },
    );
    return logs.exitCode === 0 ? logs.stdout : "";
  }

  async down(
    bottle: Pick<FoundBottle, "slug" | "project" | "stateDir">,
    bounds: RemovalBounds = DEFAULT_REMOVAL_BOUNDS,
  ): Promise<void> {
    const metadata = bottle.stateDir === null ? null : await readMetadata(bottle.stateDir);
    const nodes = await listNodes(boundedClient(this.manager, Date.now() + bounds.gracefulMs));
    const found = nodes.find((n) => n.hostname === metadata?.node);
    const node = found ? this.manager.at(found.engine) : null;
    await removeFromSwarm(this.swarm, bottle, node, bounds);
    await assertGoneFromSwarm(this.swarm, bottle.slug, node, bounds);
    if (bottle.stateDir !== null) {
      await rm(bottle.stateDir, { recursive: true, force: true });
    }
  }

  events(signal: AbortSignal) {
    // The swarm reports services, not containers; a service's name carries its bottle.
    const filters = ["--filter", "scope=swarm", "--filter", "type=service"];
    return bottleEvents(this.manager.address, filters, signal, serviceEvent);
  }
}

/** A `docker events` JSON line about a bottle's service, or null. */
export function parseServiceEvent(line: string) {
  return bottleEventIn(line, serviceEvent);
}

const serviceEvent: BottleEventOf = (e) => {
  const m = /^claude-bottle-([a-z0-9][a-z0-9-]*)_([a-z-]+)$/.exec(e.attributes.name ?? "");
  if (m === null) return null;
  return { slug: m[1] as string, service: m[2] as string, action: e.action, time: e.time };
};
