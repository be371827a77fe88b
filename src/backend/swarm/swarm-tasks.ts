// What runs on the swarm, asked of its manager: the bottles of a claude-bottle home with each
// service's task state, and the task (container and node) an agent runs in.
import { BOTTLE_HOME_LABEL, BOTTLE_SLUG_LABEL, composeProjectName } from "../../contracts/agent.js";
import { BottleError } from "../../shared/errors.js";
import type { FoundBottle } from "../backend.js";
import { BottleIndex } from "../engine/discover-bottles.js";
import { DockerError } from "../engine/docker-client.js";
import { type EngineAt, listNodes } from "./swarm-engines.js";

/** The agent's running task: its container, and the engine of the node that runs it. */
export async function agentTask(
  manager: EngineAt,
  slug: string,
): Promise<{ engine: EngineAt; container: string }> {
  const project = composeProjectName(slug);
  const task = await manager.run(
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
  const node = (await listNodes(manager)).find((n) => n.hostname === nodeName);
  if (node?.engine == null) throw new BottleError(`node ${nodeName} has no engine label`);
  return { engine: manager.at(node.engine), container };
}

/** The bottles of this claude-bottle home on the swarm, and those only its state directory holds. */
export async function listSwarmBottles(manager: EngineAt, home: string): Promise<FoundBottle[]> {
  const ids = (
    await manager.run(["service", "ls", "-q", "--filter", `label=${BOTTLE_HOME_LABEL}=${home}`])
  ).stdout
    .split("\n")
    .filter(Boolean);
  const index = new BottleIndex();
  if (ids.length > 0) {
    const services = JSON.parse(
      (await manager.run(["service", "inspect", ...ids])).stdout,
    ) as Array<{
      Spec: { Name: string; Labels?: Record<string, string> };
    }>;
    const states = await taskStates(manager, ids);
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
  await index.addStateDirs(home, "swarm");
  return index.sorted();
}

/** Each service's running task state ("running", "failed", …), by service name. */
async function taskStates(manager: EngineAt, ids: readonly string[]): Promise<Map<string, string>> {
  const r = await manager.run(
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
