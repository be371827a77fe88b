// The agent program run in a bottle's agent container through `docker exec`, attached to this
// terminal: the same for Compose and for Swarm's node.

import { AGENT_LAUNCHER } from "../../agents/agent-provider.js";
import type { RunOptions } from "../backend.js";
import type { LaunchContext } from "../start-plan.js";
import { AGENT_HOME, AGENT_USER } from "./provision-agent.js";

/**
 * Runs the agent program (or `options.exec`) in the agent container; returns its exit code.
 * `wrap` turns the command into the one to run (the swarm's puts variables in its env).
 */
export async function attachAgent(
  ctx: Pick<LaunchContext, "docker" | "progress">,
  container: string,
  options: Pick<RunOptions, "exec" | "tty" | "signal">,
  wrap: (command: string[]) => string[] = (command) => command,
): Promise<number> {
  const flags = [
    "exec",
    "-i",
    ...(options.tty ? ["-t"] : []),
    "-u",
    AGENT_USER,
    "-w",
    `${AGENT_HOME}/work`,
  ];
  // The launcher provisioning wrote runs the bottle's provider, whichever it is.
  const command = options.exec === null ? [AGENT_LAUNCHER] : ["sh", "-lc", options.exec];
  ctx.progress(options.exec === null ? "attaching the agent…" : `running: ${options.exec}`);
  const result = await ctx.docker.run([...flags, container, ...wrap(command)], {
    inherit: true,
    allowFailure: true,
    // Killed with this CLI, however it dies: a `docker exec` left behind holds the bottle open.
    dieWithParent: true,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return result.exitCode;
}
