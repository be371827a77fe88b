// Deploying a bottle's stack: where it goes (the load per node, and a warning when the node's
// engine lets processes gain privileges), its secrets and stack, and the wait until every
// service runs and the agent resolves its sidecars' names.
import { BOTTLE_SLUG_LABEL, composeProjectName } from "../../contracts/agent.js";
import { renderStackYaml } from "../../core/stack-yaml.js";
import { envSecrets, type SwarmStack } from "../../core/swarm-stack.js";
import { BottleError } from "../../shared/errors.js";
import type { UpOptions } from "../backend.js";
import { unresolvedName } from "../engine/wait-for-names.js";
import type { StartPlan } from "../start-plan.js";
import { type EngineAt, labelArgs, STACK_LABEL, type SwarmAt } from "./swarm-engines.js";

/** How long the stack may take to run and pass its health checks. */
const CONVERGE_TIMEOUT_MS = 180_000;

/** The secrets, then the stack; waits until it runs. Returns the agent's container. */
export async function deployStack(
  swarm: SwarmAt,
  plan: StartPlan,
  stack: SwarmStack,
  node: { name: string; engine: EngineAt },
  options: UpOptions,
): Promise<string> {
  const { blueprint } = plan;
  const slug = blueprint.plan.slug;
  const project = composeProjectName(slug);
  for (const s of envSecrets(slug, Object.keys(plan.composeEnv))) {
    // The value goes on stdin: never in argv, never in a file.
    await swarm.manager.run(["secret", "create", ...labelArgs(blueprint.plan), s.name, "-"], {
      input: plan.composeEnv[s.variable] ?? "",
    });
  }
  swarm.progress(`starting bottle ${slug} on ${node.name}…`);
  await swarm.manager.run(
    ["stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", "-", project],
    {
      input: renderStackYaml(stack),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  const agent = await waitForStack(swarm, project, node.engine, options.signal);
  await waitForNames(node.engine, agent, sidecarNamesOf(stack));
  return agent;
}

/**
 * A swarm service cannot set no-new-privileges (Compose sets it on every sidecar); only the
 * node's engine can, for all its containers. Said plainly when the node does not.
 */
export async function warnWithoutNoNewPrivileges(
  swarm: SwarmAt,
  node: EngineAt,
  name: string,
): Promise<void> {
  const info = await node.run(["info", "--format", "{{json .SecurityOptions}}"], {
    allowFailure: true,
  });
  if (info.exitCode !== 0) {
    throw new BottleError(`the engine of node ${name} does not answer at ${node.address}`, {
      hint: "check the node's dev.claude-bottle.engine label and that this machine can reach it",
    });
  }
  if (!info.stdout.includes("no-new-privileges")) {
    swarm.progress(
      `warning: node ${name}'s engine lets processes gain privileges by exec (a swarm service cannot forbid it); set "no-new-privileges": true in its /etc/docker/daemon.json`,
    );
  }
}

/** Waits until every service runs one task on the node and each health check passes. */
async function waitForStack(
  swarm: SwarmAt,
  project: string,
  node: EngineAt,
  signal?: AbortSignal,
): Promise<string> {
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
  const services = (
    await swarm.manager.run(["stack", "services", "--format", "{{.Name}}", project])
  ).stdout
    .split("\n")
    .filter(Boolean);
  for (;;) {
    if (signal?.aborted) throw new BottleError("interrupted while the stack was starting");
    const failed = await failedTask(swarm.manager, project);
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
async function failedTask(manager: EngineAt, project: string): Promise<string | null> {
  const r = await manager.run(
    ["stack", "ps", "--no-trunc", "--format", "{{.Name}}\t{{.CurrentState}}\t{{.Error}}", project],
    { allowFailure: true },
  );
  for (const line of r.stdout.split("\n")) {
    const [name, state = "", error = ""] = line.split("\t");
    if (error.trim() !== "" && /^(Rejected|Failed)/.test(state)) return `${name}: ${error.trim()}`;
  }
  return null;
}

/** How many bottle services run on each node, by node name. */
export async function bottlesPerNode(manager: EngineAt): Promise<Map<string, number>> {
  const r = await manager.run(["service", "ls", "-q", "--filter", `label=${BOTTLE_SLUG_LABEL}`], {
    allowFailure: true,
  });
  const load = new Map<string, number>();
  const ids = r.stdout.split("\n").filter(Boolean);
  if (ids.length === 0) return load;
  const tasks = await manager.run(
    ["service", "ps", "--filter", "desired-state=running", "--format", "{{.Node}}", ...ids],
    { allowFailure: true },
  );
  for (const node of tasks.stdout.split("\n").filter(Boolean)) {
    load.set(node, (load.get(node) ?? 0) + 1);
  }
  return load;
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
