// What the engine holds of a bottle, read straight from the docker CLI, for assertions
// that nothing is left behind: this engine under Compose; on the swarm the manager and
// every node (test-backend.ts).
import { execFileSync } from "node:child_process";
import { dockerOn, nodeEngine, ON_SWARM, testSwarm } from "./test-backend.js";

function lines(args: string[], env: NodeJS.ProcessEnv = {}): string[] {
  return dockerOn({ env }, args)
    .split("\n")
    .filter((l) => l.trim() !== "");
}

export interface EngineLeftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
  /** On the swarm: the bottle's services, secrets and configs. */
  services?: string[];
  secrets?: string[];
  configs?: string[];
}

/** Containers, networks and volumes carrying the bottle's slug label or project name. */
export function leftoversOf(slug: string): EngineLeftovers {
  if (ON_SWARM) return swarmLeftoversOf(slug);
  const label = `label=dev.claude-bottle.slug=${slug}`;
  const project = `label=com.docker.compose.project=claude-bottle-${slug}`;
  return {
    containers: [
      ...lines(["ps", "-a", "--filter", label, "--format", "{{.Names}}"]),
      ...lines(["ps", "-a", "--filter", project, "--format", "{{.Names}}"]),
    ],
    networks: [
      ...lines(["network", "ls", "--filter", label, "--format", "{{.Name}}"]),
      ...lines(["network", "ls", "--filter", project, "--format", "{{.Name}}"]),
    ],
    volumes: lines(["volume", "ls", "--filter", project, "--format", "{{.Name}}"]),
  };
}

/**
 * The same on the swarm: the bottle's services, networks, secrets and configs on the manager,
 * its containers (tasks and keeper) and volumes on every node.
 */
function swarmLeftoversOf(slug: string): EngineLeftovers {
  const swarm = testSwarm();
  const label = `label=dev.claude-bottle.slug=${slug}`;
  const manager = nodeEngine(swarm.manager);
  const onNodes = (args: string[]) => swarm.nodes.flatMap((n) => lines(args, nodeEngine(n)));
  return {
    containers: onNodes(["ps", "-a", "--filter", label, "--format", "{{.Names}}"]),
    networks: lines(["network", "ls", "--filter", label, "--format", "{{.Name}}"], manager),
    volumes: onNodes(["volume", "ls", "--filter", label, "--format", "{{.Name}}"]),
    services: lines(["service", "ls", "--filter", label, "--format", "{{.Name}}"], manager),
    secrets: lines(["secret", "ls", "--filter", label, "--format", "{{.Name}}"], manager),
    configs: lines(["config", "ls", "--filter", label, "--format", "{{.Name}}"], manager),
  };
}

export function nothingLeft(): EngineLeftovers {
  const none = { containers: [], networks: [], volumes: [] };
  return ON_SWARM ? { ...none, services: [], secrets: [], configs: [] } : none;
}

export function containerIp(container: string, network: string): string {
  return execFileSync(
    "docker",
    ["inspect", "-f", `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container],
    { encoding: "utf8" },
  ).trim();
}

/** The default bridge's gateway on the engine `env` names (this one by default). */
export function bridgeGateway(env: NodeJS.ProcessEnv = {}): string {
  return dockerOn({ env }, [
    "network",
    "inspect",
    "bridge",
    "-f",
    "{{(index .IPAM.Config 0).Gateway}}",
  ]).trim();
}
