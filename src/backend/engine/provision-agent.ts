// Makes a started agent container ready for its program: trusts the bottle's CAs
// system-wide, receives its prompt, skills, git rewrites and MCP configuration in its
// provider's own files, and the commands that run the program mounted from the host's
// cache. Runs after `compose up`, before the agent program is attached. Never copies a
// secret in.
import { AGENT_LAUNCHER, type SuperviseMcp } from "../../agents/agent-provider.js";
import {
  agentLauncher,
  agentProviderModule,
  commandWrapper,
  type MountedAgentPackage,
} from "../../agents/registry.js";
import { AGENT_CA_BUNDLE, AGENT_CA_PATH } from "../../contracts/agent.js";
import type { AgentProvider } from "../../manifest/resolved-bottle.js";
import type { DockerClient } from "./docker-client.js";
import { AGENT_WORKDIR } from "./workspace.js";

export const AGENT_USER = "agent";
export const AGENT_HOME = "/home/agent";

export interface AgentProvision {
  container: string;
  caBundle: string;
  provider: AgentProvider;
  prompt: string;
  /** Host directories copied to the provider's skills directory, as <name>. */
  skills: Array<{ name: string; hostDir: string }>;
  /** ~/.gitconfig content (insteadOf rewrites to the gate), or null. */
  gitconfig: string | null;
  /** The supervise MCP server to register in the provider's config, or null. */
  supervise: SuperviseMcp | null;
  /** The bottle's literal env (placeholders): some providers want a key in a file too. */
  literalEnv: Readonly<Record<string, string>>;
  /** The program mounted from the cache, or null when the bottle runs without it. */
  agentPackage: MountedAgentPackage | null;
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
  const module = agentProviderModule(p.provider);
  const files: AgentFile[] = [
    { path: AGENT_CA_PATH, mode: "644", owner: "root:root", content: p.caBundle },
  ];
  for (const file of module.homeFiles({
    prompt: p.prompt,
    supervise: p.supervise,
    literalEnv: p.literalEnv,
    workDir: AGENT_WORKDIR,
  })) {
    files.push({
      path: `${AGENT_HOME}/${file.path}`,
      mode: file.mode,
      owner: mine,
      content: file.content,
    });
  }
  if (p.gitconfig !== null) {
    files.push({
      path: `${AGENT_HOME}/.gitconfig`,
      mode: "644",
      owner: mine,
      content: p.gitconfig,
    });
  }
  // Root's, so the agent cannot swap the program it is run as.
  if (p.agentPackage !== null) {
    files.push({
      path: `/usr/local/bin/${module.command}`,
      mode: "755",
      owner: "root:root",
      content: commandWrapper(p.provider, p.agentPackage),
    });
  }
  files.push({
    path: AGENT_LAUNCHER,
    mode: "755",
    owner: "root:root",
    content: agentLauncher(p.provider),
  });
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
    const target = `${AGENT_HOME}/${agentProviderModule(p.provider).skillsDir}/${skill.name}`;
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
