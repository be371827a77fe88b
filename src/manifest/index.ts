// The manifest layer: loads agents and bottles from Markdown files with YAML front matter,
// validates them strictly, folds `extends`, and enforces the trust boundary (bottles come
// only from the user's home). Everything the resolver needs is exported here.

export { routeHeaderProblem } from "../shared/route-header.js";
export { AGENT_VERSION, DEFAULT_AGENT_IMAGE, RESERVED_ENV_NAMES } from "./bottle-schema.js";
export { findRepoRoot } from "./find-repo-root.js";
export type { AgentEntry } from "./load-agent.js";
export { listAgents, loadAgent } from "./load-agent.js";
export type { ManifestEntry } from "./load-bottle.js";
export { listBottles, loadBottle } from "./load-bottle.js";
export type { ManifestOptions, ManifestPaths } from "./manifest-paths.js";
export { displayPath, HOME_DIR_NAME, resolveManifestPaths } from "./manifest-paths.js";
export type {
  AgentProvider,
  AgentSkill,
  AgentSource,
  AllowRule,
  AuthScheme,
  BottleEnvValue,
  BottleGitUpstream,
  BottleRoute,
  BottleRuntime,
  DlpAction,
  HttpMethod,
  ResolvedAgent,
  ResolvedBottle,
  RouteAuth,
  SourceLocation,
} from "./resolved-bottle.js";
export { AGENT_PROVIDERS, AUTH_SCHEMES, DLP_ACTIONS, HTTP_METHODS } from "./resolved-bottle.js";
