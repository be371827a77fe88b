// A service's task as the swarm runs it: which node has it (`docker service ps` on the
// manager), its container on that node (by the task-id label Swarm puts on it), and
// commands run inside it through that node's engine, as an attach must.
import type { ProcessResult } from "../docker/git-gate-docker.js";
import { waitFor } from "../docker/wait-for.js";
import type { RunOptions } from "./docker-process.js";
import type { StartedSwarm, SwarmNode } from "./swarm-fixture.js";

export interface RunningTask {
  taskId: string;
  node: SwarmNode;
  /** The task's container ID on its node. */
  container: string;
}

export interface TaskRow {
  id: string;
  node: string;
  desiredState: string;
  currentState: string;
  error: string;
}

/** Every task of a service the manager remembers, newest first. */
export async function serviceTasks(swarm: StartedSwarm, service: string): Promise<TaskRow[]> {
  const format = "{{.ID}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}";
  const r = await swarm.docker(["service", "ps", "--no-trunc", "--format", format, service]);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [id = "", node = "", desiredState = "", currentState = "", error = ""] = l.split("\t");
      return { id, node, desiredState, currentState, error };
    });
}

/** Waits until the service has a running task, and finds that task's container on its node. */
export async function runningTask(
  swarm: StartedSwarm,
  service: string,
  timeoutMs = 90_000,
): Promise<RunningTask> {
  return waitFor(
    `a running task of ${service}`,
    async () => {
      const task = (await serviceTasks(swarm, service)).find((t) =>
        t.currentState.startsWith("Running"),
      );
      if (task === undefined) return null;
      const node = swarm.node(task.node);
      const ps = await node.docker([
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        `label=com.docker.swarm.task.id=${task.id}`,
      ]);
      const container = ps.stdout.trim();
      return container === "" ? null : { taskId: task.id, node, container };
    },
    timeoutMs,
  );
}

/** `sh -c script` inside the task's container, through the engine of the node that runs it. */
export function execInTask(
  task: RunningTask,
  script: string,
  options: RunOptions = {},
): Promise<ProcessResult> {
  return task.node.docker(["exec", "-i", task.container, "sh", "-c", script], {
    allowFailure: true,
    ...options,
  });
}

/**
 * TCP connections from inside the task to each "host:port": the ones that connected, and
 * for the others what the kernel said. Uses bash's /dev/tcp, so the image needs only bash.
 */
export async function tcpReach(
  task: RunningTask,
  targets: readonly string[],
): Promise<Record<string, string>> {
  const script = targets
    .map((t) => {
      const [host, port] = t.split(":");
      return `if timeout 4 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/tmp/err; then echo "${t} connected"; else echo "${t} $(tail -n1 /tmp/err | sed 's/.*: //')"; fi`;
    })
    .join("\n");
  const r = await execInTask(task, script, { timeoutMs: 10_000 * targets.length + 10_000 });
  const result: Record<string, string> = {};
  for (const line of r.stdout.split("\n").filter((l) => l !== "")) {
    const [target = "", ...rest] = line.split(" ");
    result[target] = rest.join(" ") || "timed out";
  }
  return result;
}
