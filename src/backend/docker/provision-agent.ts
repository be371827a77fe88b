// Makes a started agent container ready for its program: trusts the bottle's CAs
// system-wide, receives its prompt, skills, git rewrites and MCP configuration. Runs
// after `compose up`, before the agent program is attached. Never copies a secret in.
import { AGENT_CA_PATH } from "./agent-constants.js";
import type { DockerClient } from "./docker-client.js";

export const AGENT_USER = "agent";
export const AGENT_HOME = "/home/agent";

export interface AgentProvision {
  container: string;
  caBundle: string;
  prompt: string;
  /** Host directories copied to ~/.claude/skills/<name>. */
  skills: Array<{ name: string; hostDir: string }>;
  /** ~/.gitconfig content (insteadOf rewrites to the gate), or null. */
  gitconfig: string | null;
  /** MCP servers for ~/.claude.json, or null. */
  mcpServers: Record<string, { type: "http"; url: string }> | null;
}

export async function provisionAgent(docker: DockerClient, p: AgentProvision): Promise<void> {
  // Custom images may lack update-ca-certificates: then append to the system bundle.
  await docker.run(
    [
      "exec",
      "-i",
      "-u",
      "root",
      p.container,
      "sh",
      "-c",
      `set -e; mkdir -p "$(dirname ${AGENT_CA_PATH})"; cat > ${AGENT_CA_PATH}; chmod 644 ${AGENT_CA_PATH}; ` +
        `if command -v update-ca-certificates >/dev/null; then update-ca-certificates >/dev/null 2>&1; ` +
        `else cat ${AGENT_CA_PATH} >> /etc/ssl/certs/ca-certificates.crt; fi`,
    ],
    { input: p.caBundle },
  );
  await writeAgentFile(docker, p.container, ".claude/CLAUDE.md", p.prompt);
  if (p.gitconfig !== null) await writeAgentFile(docker, p.container, ".gitconfig", p.gitconfig);
  if (p.mcpServers !== null) {
    await writeAgentFile(
      docker,
      p.container,
      ".claude.json",
      `${JSON.stringify({ mcpServers: p.mcpServers }, null, 2)}\n`,
    );
  }
  for (const skill of p.skills) {
    const target = `${AGENT_HOME}/.claude/skills/${skill.name}`;
    await docker.run([
      "exec",
      "-u",
      AGENT_USER,
      p.container,
      "mkdir",
      "-p",
      `${AGENT_HOME}/.claude/skills`,
    ]);
    await docker.run(["cp", `${skill.hostDir}/.`, `${p.container}:${target}`]);
    await docker.run([
      "exec",
      "-u",
      "root",
      p.container,
      "chown",
      "-R",
      `${AGENT_USER}:${AGENT_USER}`,
      target,
    ]);
  }
}

async function writeAgentFile(
  docker: DockerClient,
  container: string,
  relPath: string,
  content: string,
) {
  const path = `${AGENT_HOME}/${relPath}`;
  await docker.run(
    [
      "exec",
      "-i",
      "-u",
      AGENT_USER,
      container,
      "sh",
      "-c",
      `mkdir -p "$(dirname '${path}')" && cat > '${path}'`,
    ],
    { input: content },
  );
}
