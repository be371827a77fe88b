import { rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { AGENT_PACKAGE_IN_CONTAINER } from "../../agents/agent-provider.js";
import { BOTTLE_HOME_LABEL, BOTTLE_SLUG_LABEL, composeProjectName } from "../../contracts/agent.js";
import type { DockerBottlePlan } from "../../core/bottle-plan.js";
import { bottlePlanToCompose } from "../../core/compose.js";
import { renderStackYaml } from "../../core/stack-yaml.js";
import { stateRootOf } from "../../core/state-layout.js";
import {
  agentEnvCommand,
  bottleToSwarmStack,
  envSecrets,
  type SwarmStack,
} from "../../core/swarm-stack.js";
import { BottleError } from "../../shared/errors.js";
import type {
  AgentHandle,
  Backend,
  BottleEvent,
  FoundBottle,
  LogRange,
  LogStream,
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
import { BottleIndex, DEFAULT_REMOVAL_BOUNDS } from "../engine/discover-bottles.js";
import { boundedClient, type DockerClient, DockerError } from "../engine/docker-client.js";
import { type EngineEvent, engineEvents, readEngineEvent } from "../engine/engine-events.js";
import { NODE_IMAGE } from "../engine/images.js";
import { provisionAgent } from "../engine/provision-agent.js";
import { spawnStartGuard } from "../engine/start-guard.js";
import { unresolvedName } from "../engine/wait-for-names.js";
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
import {
  chooseNode,
  EngineAt,
  labelArgs,
  listNodes,
  SWARM_HOST_ENV,
  SWARM_NODE_ENV,
  shipImages,
} from "./swarm-engines.js";

const STACK_LABEL = "com.docker.stack.namespace";
/** How long the stack may take to run and pass its health checks. */
const CONVERGE_TIMEOUT_MS = 180_000;
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

  constructor(private readonly ctx: LaunchContext) {
    this.manager = new EngineAt(ctx.docker, ctx.env[SWARM_HOST_ENV] || null);
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
      await this.bottlesPerNode(),
      this.ctx.env[SWARM_NODE_ENV],
    );
    const nodeEngine = new EngineAt(this.ctx.docker, node.engine);
    await this.warnWithoutNoNewPrivileges(nodeEngine, node.hostname);
    const prepared = await prepareBottle(blueprint, { now: this.ctx.now() });
    let deployed = false;
    let mirror: StateMirror | null = null;
    return startOrRemove(plan, prepared, options, {
      remove: async (bounds = DEFAULT_REMOVAL_BOUNDS) => {
        await mirror?.stop();
        this.mirrors.delete(slug);
        if (!deployed) return;
        await this.removeFromSwarm({ slug, project }, nodeEngine, bounds);
        await this.assertGone(slug, nodeEngine, bounds);
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
        const agent = await this.deployStack(plan, node.hostname, nodeEngine, imageIds, options);
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

  /** The secrets, then the stack; waits until it runs. Returns the agent's container. */
  private async deployStack(
    plan: StartPlan,
    nodeName: string,
    nodeEngine: EngineAt,
    imageIds: Record<string, string>,
    options: UpOptions,
  ): Promise<string> {
    const { blueprint } = plan;
    const slug = blueprint.plan.slug;
    const project = composeProjectName(slug);
    for (const s of envSecrets(slug, Object.keys(plan.composeEnv))) {
      // The value goes on stdin: never in argv, never in a file.
      await this.manager.run(["secret", "create", ...labelArgs(blueprint.plan), s.name, "-"], {
        input: plan.composeEnv[s.variable] ?? "",
      });
    }
    this.ctx.progress(`starting bottle ${slug} on ${nodeName}…`);
    const stack = this.stackOf(plan, nodeName, (tag) => imageIds[tag]);
    await this.manager.run(
      ["stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", "-", project],
      {
        input: renderStackYaml(stack),
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    const agent = await this.waitForStack(project, nodeEngine, options.signal);
    await waitForNames(nodeEngine, agent, sidecarNamesOf(stack));
    return agent;
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

  /**
   * A swarm service cannot set no-new-privileges (Compose sets it on every sidecar); only the
   * node's engine can, for all its containers. Said plainly when the node does not.
   */
  private async warnWithoutNoNewPrivileges(node: EngineAt, name: string): Promise<void> {
    const info = await node.run(["info", "--format", "{{json .SecurityOptions}}"], {
      allowFailure: true,
    });
    if (info.exitCode !== 0) {
      throw new BottleError(`the engine of node ${name} does not answer at ${node.address}`, {
        hint: "check the node's dev.claude-bottle.engine label and that this machine can reach it",
      });
    }
    if (!info.stdout.includes("no-new-privileges")) {
      this.ctx.progress(
        `warning: node ${name}'s engine lets processes gain privileges by exec (a swarm service cannot forbid it); set "no-new-privileges": true in its /etc/docker/daemon.json`,
      );
    }
  }

  /** Waits until every service runs one task on the node and each health check passes. */
  private async waitForStack(
    project: string,
    node: EngineAt,
    signal?: AbortSignal,
  ): Promise<string> {
    const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
    const services = (
      await this.manager.run(["stack", "services", "--format", "{{.Name}}", project])
    ).stdout
      .split("\n")
      .filter(Boolean);
    for (;;) {
      if (signal?.aborted) throw new BottleError("interrupted while the stack was starting");
      const failed = await this.failedTask(project);
      if (failed !== null)
        throw new BottleError(`a service of ${project} could not start: ${failed}`);
      const ps = await node.run([
        "ps",
        "--filter",
        `label=${STACK_LABEL}=${project}`,
        "--format",
        "{{json .}}",
      ]);
      const running = ps.stdout
        .split("\n")
        .filter(Boolean)
        .map(
          (l) => JSON.parse(l) as { Names: string; State: string; Status: string; Labels: string },
        );
      const ready = services.every((s) =>
        running.some(
          (c) =>
            c.Names.startsWith(`${s}.`) &&
            c.State === "running" &&
            !/\((health: starting|unhealthy)\)/.test(c.Status),
        ),
      );
      const agent = running.find((c) => c.Names.startsWith(`${project}_agent.`));
      if (ready && agent !== undefined) return agent.Names;
      if (Date.now() > deadline) {
        throw new BottleError(
          `${project} did not become ready within ${CONVERGE_TIMEOUT_MS / 1000}s`,
          {
            hint: `see \`docker stack ps --no-trunc ${project}\` on the manager`,
          },
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** The error of a task the swarm gave up on, or null. */
  private async failedTask(project: string): Promise<string | null> {
    const r = await this.manager.run(
      [
        "stack",
        "ps",
        "--no-trunc",
        "--format",
        "{{.Name}}\t{{.CurrentState}}\t{{.Error}}",
        project,
      ],
      { allowFailure: true },
    );
    for (const line of r.stdout.split("\n")) {
      const [name, state = "", error = ""] = line.split("\t");
      if (error.trim() !== "" && /^(Rejected|Failed)/.test(state))
        return `${name}: ${error.trim()}`;
    }
    return null;
  }

  private async bottlesPerNode(): Promise<Map<string, number>> {
    const r = await this.manager.run(
      ["service", "ls", "-q", "--filter", `label=${BOTTLE_SLUG_LABEL}`],
      { allowFailure: true },
    );
    const load = new Map<string, number>();
    const ids = r.stdout.split("\n").filter(Boolean);
    if (ids.length === 0) return load;
    const tasks = await this.manager.run(
      ["service", "ps", "--filter", "desired-state=running", "--format", "{{.Node}}", ...ids],
      { allowFailure: true },
    );
    for (const node of tasks.stdout.split("\n").filter(Boolean)) {
      load.set(node, (load.get(node) ?? 0) + 1);
    }
    return load;
  }

  async agent(bottle: { slug: string }): Promise<AgentHandle> {
    const { engine, container } = await this.agentTask(bottle.slug);
    return { docker: engine, container };
  }

  /** The agent's running task: its container, and the engine of the node that runs it. */
  private async agentTask(slug: string): Promise<{ engine: EngineAt; container: string }> {
    const project = composeProjectName(slug);
    const task = await this.manager.run(
      [
        "service",
        "ps",
        "--filter",
        "desired-state=running",
        "--no-trunc",
        "--format",
        "{{.Node}}\t{{.Name}}.{{.ID}}",
        `${project}_agent`,
      ],
      { allowFailure: true },
    );
    // A manager that cannot answer is said in its words; only a service that is not there (or
    // runs no task) is a bottle with no running agent.
    if (task.exitCode !== 0 && !/no such service/i.test(task.stderr)) {
      throw new DockerError(`docker service ps ${project}_agent`, task.exitCode, task.stderr);
    }
    const [nodeName, container] = (task.stdout.split("\n")[0] ?? "").split("\t");
    if (!nodeName || !container) {
      throw new BottleError(`bottle ${slug} has no running agent on the swarm`, {
        hint: `remove what is left of it with \`claude-bottle stop --backend swarm ${slug}\``,
      });
    }
    const node = (await listNodes(this.manager)).find((n) => n.hostname === nodeName);
    if (node?.engine == null) throw new BottleError(`node ${nodeName} has no engine label`);
    return { engine: new EngineAt(this.ctx.docker, node.engine), container };
  }

  async exec(bottle: { slug: string }, options: Parameters<Backend["exec"]>[1]): Promise<number> {
    const agent = await this.agentTask(bottle.slug);
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

  async list(): Promise<FoundBottle[]> {
    const home = this.ctx.home;
    const ids = (
      await this.manager.run([
        "service",
        "ls",
        "-q",
        "--filter",
        `label=${BOTTLE_HOME_LABEL}=${home}`,
      ])
    ).stdout
      .split("\n")
      .filter(Boolean);
    const index = new BottleIndex();
    if (ids.length > 0) {
      const services = JSON.parse(
        (await this.manager.run(["service", "inspect", ...ids])).stdout,
      ) as Array<{
        Spec: { Name: string; Labels?: Record<string, string> };
      }>;
      const states = await this.taskStates(ids);
      for (const s of services) {
        const slug = s.Spec.Labels?.[BOTTLE_SLUG_LABEL];
        if (slug === undefined) continue;
        const found = index.entry(slug);
        const state = states.get(s.Spec.Name) ?? "no task";
        found.containers.push({
          name: s.Spec.Name,
          service: s.Spec.Name.slice(found.project.length + 1),
          state,
          status: state,
        });
      }
    }
    await index.addStateDirs(home, this.name);
    return index.sorted();
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

  /** The manager gathers the log from the sidecar's node. */
  openLog(service: string, from: LogRange): LogStream {
    return serviceLogs(this.manager.address)(service, from);
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

  /** Each service's running task state ("running", "failed", …), by service name. */
  private async taskStates(ids: readonly string[]): Promise<Map<string, string>> {
    const r = await this.manager.run(
      [
        "service",
        "ps",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Name}}\t{{.CurrentState}}",
        ...ids,
      ],
      { allowFailure: true },
    );
    const states = new Map<string, string>();
    for (const line of r.stdout.split("\n").filter(Boolean)) {
      const [task = "", current = ""] = line.split("\t");
      const service = task.replace(/\.\d+$/, "");
      states.set(service, (current.split(" ")[0] ?? "").toLowerCase());
    }
    return states;
  }

  async down(
    bottle: Pick<FoundBottle, "slug" | "project" | "stateDir">,
    bounds: RemovalBounds = DEFAULT_REMOVAL_BOUNDS,
  ): Promise<void> {
    const metadata = bottle.stateDir === null ? null : await readMetadata(bottle.stateDir);
    const nodes = await listNodes(boundedClient(this.manager, Date.now() + bounds.gracefulMs));
    const found = nodes.find((n) => n.hostname === metadata?.node);
    const node = found ? new EngineAt(this.ctx.docker, found.engine) : null;
    await this.removeFromSwarm(bottle, node, bounds);
    await this.assertGone(bottle.slug, node, bounds);
    if (bottle.stateDir !== null) {
      await rm(bottle.stateDir, { recursive: true, force: true });
    }
  }

  /** Ends a removal by listing what carries the bottle's label: anything left is an error. */
  private async assertGone(slug: string, node: EngineAt | null, bounds: RemovalBounds) {
    const left = await this.leftOnSwarm(slug, node, bounds.forcedMs);
    if (left.length > 0) {
      throw new BottleError(
        `bottle ${slug} is not fully removed from the swarm; still there: ${left.join(", ")}`,
        { hint: `run \`claude-bottle stop --backend swarm ${slug}\` again` },
      );
    }
  }

  /** What carries the bottle's label on the manager and its node, named; or why it is unknown. */
  private async leftOnSwarm(slug: string, node: EngineAt | null, ms: number): Promise<string[]> {
    const label = `label=${BOTTLE_SLUG_LABEL}=${slug}`;
    const manager = boundedClient(this.manager, Date.now() + ms);
    const ask = async (docker: DockerClient, kind: string, args: string[]): Promise<string[]> => {
      // `docker ps` names its field Names; every other listing here, Name.
      const field = kind === "container" ? "{{.Names}}" : "{{.Name}}";
      const r = await docker.run([...args, "--filter", label, "--format", field], {
        allowFailure: true,
      });
      if (r.exitCode !== 0) return [`(no answer to \`docker ${args.join(" ")}\`)`];
      return r.stdout
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((name) => `${kind} ${name}`);
    };
    const lists = await Promise.all([
      ask(manager, "service", ["service", "ls"]),
      ask(manager, "network", ["network", "ls"]),
      ask(manager, "secret", ["secret", "ls"]),
      ask(manager, "config", ["config", "ls"]),
      ...(node === null
        ? []
        : [
            ask(boundedClient(node, Date.now() + ms), "container", ["ps", "-a"]),
            ask(boundedClient(node, Date.now() + ms), "volume", ["volume", "ls"]),
          ]),
    ]);
    return lists.flat();
  }

  /**
   * The stack, then what the stack leaves: its external secrets, and its volumes on the
   * node once their tasks are gone, each call bounded and in a process group of its own.
   * Never throws: the first error stays the one reported (down names what is left).
   */
  private async removeFromSwarm(
    bottle: Pick<FoundBottle, "slug" | "project">,
    nodeEngine: EngineAt | null,
    bounds: RemovalBounds = DEFAULT_REMOVAL_BOUNDS,
  ): Promise<void> {
    this.ctx.progress(`removing ${bottle.project}…`);
    const label = `label=${BOTTLE_SLUG_LABEL}=${bottle.slug}`;
    const manager = boundedClient(this.manager, Date.now() + bounds.gracefulMs);
    const node = nodeEngine && boundedClient(nodeEngine, Date.now() + bounds.gracefulMs);
    await manager.run(["stack", "rm", bottle.project], { allowFailure: true });
    // Tasks stop asynchronously; their containers hold the volumes and the secrets.
    const deadline = Date.now() + bounds.gracefulMs;
    while (Date.now() < deadline) {
      const left =
        node === null
          ? ""
          : (
              await node.run(["ps", "-aq", "--filter", `label=${STACK_LABEL}=${bottle.project}`], {
                allowFailure: true,
              })
            ).stdout.trim();
      const services = (
        await manager.run(["service", "ls", "-q", "--filter", label], { allowFailure: true })
      ).stdout.trim();
      if (left === "" && services === "") break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const forcedAt = Date.now() + bounds.forcedMs;
    const forced = boundedClient(this.manager, forcedAt);
    const forcedNode = nodeEngine && boundedClient(nodeEngine, forcedAt);
    // A service the stack did not take (a stack rm that timed out) goes by name.
    const services = (
      await forced.run(["service", "ls", "-q", "--filter", label], { allowFailure: true })
    ).stdout
      .split("\n")
      .filter(Boolean);
    if (services.length > 0)
      await forced.run(["service", "rm", ...services], { allowFailure: true });
    if (forcedNode !== null) {
      // The keeper holds the volumes; it goes first, with the tasks' containers.
      const held = (
        await forcedNode.run(["ps", "-aq", "--filter", label], { allowFailure: true })
      ).stdout
        .split("\n")
        .filter(Boolean);
      if (held.length > 0) await forcedNode.run(["rm", "-f", ...held], { allowFailure: true });
      const vols = (
        await forcedNode.run(["volume", "ls", "-q", "--filter", label], { allowFailure: true })
      ).stdout
        .split("\n")
        .filter(Boolean);
      if (vols.length > 0) {
        await forcedNode.run(["volume", "rm", "-f", ...vols], { allowFailure: true });
      }
    }
    for (const kind of ["secret", "config"] as const) {
      const ids = (
        await forced.run([kind, "ls", "-q", "--filter", label], { allowFailure: true })
      ).stdout
        .split("\n")
        .filter(Boolean);
      if (ids.length > 0) await forced.run([kind, "rm", ...ids], { allowFailure: true });
    }
    // Networks last, again until they go: a task on its way out still holds them a moment.
    while (Date.now() < forcedAt) {
      const nets = (
        await forced.run(["network", "ls", "-q", "--filter", label], { allowFailure: true })
      ).stdout
        .split("\n")
        .filter(Boolean);
      if (nets.length === 0) break;
      const r = await forced.run(["network", "rm", ...nets], { allowFailure: true });
      if (r.exitCode !== 0) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  async *events(signal: AbortSignal): AsyncIterable<BottleEvent> {
    // The swarm reports services, not containers; a service's name carries its bottle.
    const filters = ["--filter", "scope=swarm", "--filter", "type=service"];
    for await (const e of engineEvents(this.manager.address, filters, signal)) {
      const event = serviceEvent(e);
      if (event !== null) yield event;
    }
  }
}

/** The names the agent reaches its sidecars by on the internal overlay. */
export function sidecarNamesOf(stack: SwarmStack): string[] {
  return Object.entries(stack.services)
    .filter(([name]) => name !== "agent")
    .flatMap(([, s]) => s?.networks.internal?.aliases ?? []);
}

/** How long a running agent may take to resolve its sidecars' names. */
const NAMES_TIMEOUT_S = 60;
/**
 * Waits until the agent resolves each sidecar's name. A task runs and passes its health
 * check before the swarm's DNS answers for it everywhere: under load an agent was seen
 * unable to resolve its own pipelock after the stack was ready. A name that never resolves
 * fails the start, which removes the bottle.
 */
async function waitForNames(node: EngineAt, agent: string, names: readonly string[]) {
  const missing = await unresolvedName(node, agent, names, NAMES_TIMEOUT_S);
  if (missing !== null) {
    throw new BottleError(
      `the agent could not resolve ${missing} on the swarm's DNS within ${NAMES_TIMEOUT_S}s`,
      { hint: "check the node's overlay networking (`claude-bottle docs swarm`, pitfalls)" },
    );
  }
}

/** A `docker events` JSON line about a bottle's service, or null. */
export function parseServiceEvent(line: string): BottleEvent | null {
  const e = readEngineEvent(line);
  return e === null ? null : serviceEvent(e);
}

function serviceEvent(e: EngineEvent): BottleEvent | null {
  const m = /^claude-bottle-([a-z0-9][a-z0-9-]*)_([a-z-]+)$/.exec(e.attributes.name ?? "");
  if (m === null) return null;
  return { slug: m[1] as string, service: m[2] as string, action: e.action, time: e.time };
}
