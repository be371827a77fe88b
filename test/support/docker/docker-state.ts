// What the engine holds of a bottle, read straight from the docker CLI, for assertions
// that nothing is left behind.
import { execFileSync } from "node:child_process";

function lines(args: string[]): string[] {
  return execFileSync("docker", args, { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.trim() !== "");
}

export interface EngineLeftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
}

/** Containers, networks and volumes carrying the bottle's slug label or project name. */
export function leftoversOf(slug: string): EngineLeftovers {
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

export function nothingLeft(): EngineLeftovers {
  return { containers: [], networks: [], volumes: [] };
}

export function containerIp(container: string, network: string): string {
  return execFileSync(
    "docker",
    ["inspect", "-f", `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container],
    { encoding: "utf8" },
  ).trim();
}

export function bridgeGateway(): string {
  return execFileSync(
    "docker",
    ["network", "inspect", "bridge", "-f", "{{(index .IPAM.Config 0).Gateway}}"],
    {
      encoding: "utf8",
    },
  ).trim();
}
