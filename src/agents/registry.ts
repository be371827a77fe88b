// The agent providers claude-bottle knows, by the name a bottle's `agent:` gives, and the
// few facts every caller derives from one: its package for this host, its wrapper scripts
// in the container, its commands.
import type { AgentProvider } from "../manifest/resolved-bottle.js";
import {
  AGENT_LAUNCHER,
  AGENT_PACKAGE_IN_CONTAINER,
  type AgentProviderModule,
  type HostArch,
  shellQuote,
} from "./agent-provider.js";
import { claudeProvider } from "./claude.js";
import { codexProvider } from "./codex.js";
import { geminiProvider } from "./gemini.js";

export const AGENT_PROVIDER_MODULES: Readonly<Record<AgentProvider, AgentProviderModule>> = {
  claude: claudeProvider,
  codex: codexProvider,
  gemini: geminiProvider,
};

export function agentProviderModule(provider: AgentProvider): AgentProviderModule {
  return AGENT_PROVIDER_MODULES[provider];
}

/** The architecture of this host's agent containers (the engine runs images natively). */
export function hostArch(arch: string = process.arch): HostArch {
  if (arch === "x64" || arch === "arm64") return arch;
  throw new Error(`no agent packages for the ${arch} architecture; x64 and arm64 are supported`);
}

/** What the container needs of a cached package to run its program. */
export interface MountedAgentPackage {
  version: string;
  binary: string;
  interpreter: "node" | null;
  pathDirs: readonly string[];
}

/** /usr/local/bin/<command>: runs the mounted package's program by name, for `sh -lc` too. */
export function commandWrapper(provider: AgentProvider, pkg: MountedAgentPackage): string {
  const module = agentProviderModule(provider);
  const program = `${AGENT_PACKAGE_IN_CONTAINER}/${pkg.binary}`;
  const path = pkg.pathDirs.map((d) => `${AGENT_PACKAGE_IN_CONTAINER}/${d}:`).join("");
  const run = pkg.interpreter === "node" ? `node ${shellQuote(program)}` : shellQuote(program);
  return [
    "#!/bin/sh",
    `# ${module.title} ${pkg.version}, mounted read-only from the host's claude-bottle cache.`,
    ...(path === "" ? [] : [`PATH=${shellQuote(path)}"$PATH"`, "export PATH"]),
    `exec ${run} "$@"`,
    "",
  ].join("\n");
}

/** The launcher the CLI attaches to: the provider's interactive session, or why it is missing. */
export function agentLauncher(provider: AgentProvider): string {
  const module = agentProviderModule(provider);
  const session = [module.command, ...module.interactiveArgs].map(shellQuote).join(" ");
  return [
    "#!/bin/sh",
    `if ! command -v ${module.command} >/dev/null 2>&1; then`,
    `  echo "claude-bottle: ${module.title} is not in this bottle: it was not in the host's cache when the bottle started; run \\\`claude-bottle fetch ${provider}\\\` on the host, then start the bottle again" >&2`,
    "  exit 127",
    "fi",
    `exec ${session} "$@"`,
    "",
  ].join("\n");
}

/** The provider's headless run of one prompt, as argv. */
export function headlessCommand(provider: AgentProvider, prompt: string): string[] {
  const module = agentProviderModule(provider);
  return [module.command, ...module.headlessArgs(prompt)];
}

/** The same, as one `sh -lc` command line for `start --exec`. */
export function headlessShellCommand(provider: AgentProvider, prompt: string): string {
  return headlessCommand(provider, prompt).map(shellQuote).join(" ");
}

export { AGENT_LAUNCHER, AGENT_PACKAGE_IN_CONTAINER };
