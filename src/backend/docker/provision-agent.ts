// Makes a started agent container ready for its program: trusts the bottle's CAs
// system-wide, receives its prompt, skills, git rewrites and MCP configuration. Runs
// after `compose up`, before the agent program is attached. Never copies a secret in.
import { AGENT_CA_BUNDLE, AGENT_CA_PATH } from "./agent-constants.js";
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

/** A file to place in the agent container. */
interface AgentFile {
  path: string;
  mode: string;
  owner: string;
  content: string;
}

/**
 * Reads "path mode owner base64" lines on stdin and writes each file, then trusts the
 * CA by appending it to the system bundle. One exec for everything: each exec costs a few
 * hundred milliseconds, and update-ca-certificates a second more; the CA also sits in
 * /usr/local/share/ca-certificates, so a later update-ca-certificates keeps it.
 */
const PROVISION_SCRIPT = `set -eu
while IFS=' ' read -r path mode owner data; do
  dir=$(dirname "$path")
  mkdir -p "$dir"
  [ "$owner" = root:root ] || chown "$owner" "$dir"
  printf '%s' "$data" | base64 -d > "$path"
  chmod "$mode" "$path"
  chown "$owner" "$path"
done
{ echo; cat ${AGENT_CA_PATH}; } >> ${AGENT_CA_BUNDLE}`;

export function agentFiles(p: AgentProvision): AgentFile[] {
  const mine = `${AGENT_USER}:${AGENT_USER}`;
  const files: AgentFile[] = [
    { path: AGENT_CA_PATH, mode: "644", owner: "root:root", content: p.caBundle },
    { path: `${AGENT_HOME}/.claude/CLAUDE.md`, mode: "644", owner: mine, content: p.prompt },
  ];
  if (p.gitconfig !== null) {
    files.push({
      path: `${AGENT_HOME}/.gitconfig`,
      mode: "644",
      owner: mine,
      content: p.gitconfig,
    });
  }
  if (p.mcpServers !== null) {
    const config = `${JSON.stringify({ mcpServers: p.mcpServers }, null, 2)}\n`;
    files.push({ path: `${AGENT_HOME}/.claude.json`, mode: "600", owner: mine, content: config });
  }
  return files;
}

export async function provisionAgent(docker: DockerClient, p: AgentProvision): Promise<void> {
  const input = agentFiles(p)
    .map((f) => `${f.path} ${f.mode} ${f.owner} ${Buffer.from(f.content).toString("base64")}\n`)
    .join("");
  await docker.run(["exec", "-i", "-u", "root", p.container, "sh", "-c", PROVISION_SCRIPT], {
    input,
  });
  for (const skill of p.skills) {
    const target = `${AGENT_HOME}/.claude/skills/${skill.name}`;
    await docker.run(["exec", "-u", AGENT_USER, p.container, "mkdir", "-p", target]);
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
