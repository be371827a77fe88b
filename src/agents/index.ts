// The agent programs a bottle can run (Claude Code, Codex, Gemini CLI) and the host's
// cache they are mounted from. Everything other modules and tests use is exported here.

export type {
  AgentPackage,
  AgentPackageQuery,
  EnsureAgentPackageOptions,
} from "./agent-package.js";
export {
  agentCacheRoot,
  agentPackageDir,
  ensureAgentPackage,
  findAgentPackage,
} from "./agent-package.js";
export type {
  AgentConfigInput,
  AgentHomeFile,
  AgentPackageSource,
  AgentProviderModule,
  HostArch,
  ModelApi,
  SuperviseMcp,
} from "./agent-provider.js";
export { AGENT_LAUNCHER, AGENT_PACKAGE_IN_CONTAINER, shellQuote } from "./agent-provider.js";
export type { NpmClient, NpmResult } from "./npm-client.js";
export { NpmCli } from "./npm-client.js";
export {
  AGENT_PROVIDER_MODULES,
  agentLauncher,
  agentProviderModule,
  commandWrapper,
  headlessCommand,
  headlessShellCommand,
  hostArch,
} from "./registry.js";
