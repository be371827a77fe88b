// Which backend the engine tests' bottles run on, read in this one place: Docker Compose on
// this machine's engine (the default), or, with CLAUDE_BOTTLE_TEST_BACKEND=swarm (the
// "swarm-suites" vitest project sets it), a stack on the three-node swarm fixture that the
// project's globalSetup started (swarm-suites-setup.ts). The harness asks here where a
// bottle's containers are: under Compose each is named after its service and slug on this
// engine; on the swarm each is a task's container on the node that runs the bottle, reached
// with that node's DOCKER_HOST.
import { execFileSync } from "node:child_process";
import { inject } from "vitest";
import { type StartedSwarm, type SwarmNode, swarmFromInfo } from "../swarm/swarm-fixture.js";

export const TEST_BACKEND_ENV = "CLAUDE_BOTTLE_TEST_BACKEND";
/** True when this run's bottles are swarm stacks. */
export const ON_SWARM = process.env[TEST_BACKEND_ENV] === "swarm";

let swarm: StartedSwarm | undefined;

/** The project's shared swarm fixture (only with the swarm backend). */
export function testSwarm(): StartedSwarm {
  if (!ON_SWARM) throw new Error(`testSwarm() needs ${TEST_BACKEND_ENV}=swarm`);
  swarm ??= swarmFromInfo(inject("cbSwarm"));
  return swarm;
}

/** What the CLI needs to run its bottles on the test backend: nothing for Compose. */
export function backendCliEnv(): NodeJS.ProcessEnv {
  if (!ON_SWARM) return {};
  return { CLAUDE_BOTTLE_BACKEND: "swarm", CLAUDE_BOTTLE_SWARM_HOST: testSwarm().managerHost };
}

export type BottleService = "agent" | "pipelock" | "egress" | "supervise" | "git-gate";

/** A container, and what the docker CLI needs in its environment to reach its engine. */
export interface EngineContainer {
  container: string;
  /** DOCKER_HOST of the swarm node holding it; empty under Compose. */
  env: NodeJS.ProcessEnv;
  /** The swarm node holding it; null under Compose. */
  node: SwarmNode | null;
}

/** `docker <args>` against the engine `where` names; its stdout. Throws on a non-zero exit. */
export function dockerOn(where: Pick<EngineContainer, "env">, args: readonly string[]): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    env: { ...process.env, ...where.env },
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The engine of a swarm node, for `dockerOn`. */
export function nodeEngine(node: SwarmNode): EngineContainer["env"] {
  return { DOCKER_HOST: node.dockerHost };
}

/**
 * The container of a bottle's service: under Compose its name; on the swarm its running
 * task's container, or null while there is none (not started yet, or between a task's death
 * and its replacement).
 */
export function serviceContainer(slug: string, service: BottleService): EngineContainer | null {
  // Compose names each container after its service: the name holds across a restart.
  if (!ON_SWARM) return { container: `claude-bottle-${service}-${slug}`, env: {}, node: null };
  return swarmTaskContainer(`claude-bottle-${slug}_${service}`);
}

/** The container of a swarm service's running task, on its node; null when none runs. */
export function swarmTaskContainer(service: string): EngineContainer | null {
  const s = testSwarm();
  const manager = nodeEngine(s.manager);
  let rows: string;
  try {
    rows = dockerOn({ env: manager }, [
      "service",
      "ps",
      "--no-trunc",
      "--filter",
      "desired-state=running",
      "--format",
      "{{.ID}}\t{{.Node}}\t{{.CurrentState}}",
      service,
    ]);
  } catch {
    return null;
  }
  for (const row of rows.split("\n")) {
    const [id = "", nodeName = "", state = ""] = row.split("\t");
    if (!state.startsWith("Running")) continue;
    const node = s.node(nodeName);
    const container = dockerOn({ env: nodeEngine(node) }, [
      "ps",
      "-q",
      "--no-trunc",
      "--filter",
      `label=com.docker.swarm.task.id=${id}`,
      "--filter",
      "status=running",
    ]).trim();
    if (container !== "") return { container, env: nodeEngine(node), node };
  }
  return null;
}

/** Waits for the service's running container (a task starts a moment after it is made). */
export async function waitForServiceContainer(
  slug: string,
  service: BottleService,
  timeoutMs = 60_000,
): Promise<EngineContainer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = serviceContainer(slug, service);
    if (found !== null) return found;
    if (Date.now() > deadline) throw new Error(`no running ${service} container of ${slug}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * What stands around a swarm bottle besides the gateways of its own networks: the addresses
 * of every node (their engines, the swarm's ports), the gateway of the node's
 * docker_gwbridge, and this machine at the fixture network's gateway. Empty under Compose.
 */
export function nodeSide(node: SwarmNode | null): string[] {
  if (node === null) return [];
  const s = testSwarm();
  const gwbridge = dockerOn({ env: nodeEngine(node) }, [
    "network",
    "inspect",
    "docker_gwbridge",
    "-f",
    "{{(index .IPAM.Config 0).Gateway}}",
  ]).trim();
  return [s.gateway, ...s.nodes.map((n) => n.address), gwbridge];
}
