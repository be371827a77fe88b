// What claude-bottle must know about one agent program (a provider): where its binary
// comes from, what it needs in its environment and home to work inside a bottle, and how
// to run it attached or headless. Pure data and pure functions: fetching and writing
// happen elsewhere (agent-package.ts, provision-agent.ts).
import type { AgentProvider, RouteAuth } from "../manifest/resolved-bottle.js";

export type HostArch = "x64" | "arm64";

/** Where, inside the agent container, the package is mounted read-only. */
export const AGENT_PACKAGE_IN_CONTAINER = "/opt/claude-bottle/agent";
/** The program the CLI attaches to: the provider's interactive command, by any provider. */
export const AGENT_LAUNCHER = "/usr/local/bin/claude-bottle-agent";

/** One npm package that holds the provider's program for one version and architecture. */
export interface AgentPackageSource {
  /** What `npm pack` fetches, e.g. "@openai/codex@0.171.0-linux-x64". */
  spec: string;
  /** The program, relative to the package root. */
  binary: string;
  /** "node": a JavaScript entry run with the container's node; null: a native executable. */
  interpreter: "node" | null;
  /** Package directories the program expects on its PATH (codex's bundled rg). */
  pathDirs: string[];
  /** The registry's integrity for the pinned defaults; others are asked of `npm view`. */
  integrity?: string;
}

/** Where the agent program's files go in the container. */
export interface AgentPaths {
  /** The bottle's CA certificate(s) alone. */
  caCert: string;
  /** The system bundle, with the bottle's CAs appended. */
  caBundle: string;
}

/** The supervise MCP server as the provider registers it. */
export interface SuperviseMcp {
  name: string;
  url: string;
  /** How long one tool call may wait for a human's answer. */
  toolTimeoutSeconds: number;
}

export interface AgentConfigInput {
  /** The agent's system prompt (its manifest's body). */
  prompt: string;
  supervise: SuperviseMcp | null;
  /** The bottle's literal env (placeholders included); never a forwarded secret. */
  literalEnv: Readonly<Record<string, string>>;
  /** The directory the agent works in ("/home/agent/work"): trusted without a dialog. */
  workDir: string;
}

/** A file in the agent user's home, written at provisioning. */
export interface AgentHomeFile {
  /** Relative to the agent's home. */
  path: string;
  mode: "600" | "644";
  content: string;
}

/** The model API a provider talks to, as `init`'s example bottle routes it. */
export interface ModelApi {
  host: string;
  auth: RouteAuth;
  /** The variable the program reads its key from: the agent holds a placeholder there. */
  keyEnv: string;
}

export interface AgentProviderModule {
  name: AgentProvider;
  /** "Claude Code". */
  title: string;
  /** The name the program runs by in the container, in /usr/local/bin. */
  command: string;
  /** The version fetched when the manifest pins none. */
  defaultVersion: string;
  /**
   * The versions whose first start was proved to need no keypress with the files
   * `homeFiles` writes (the seed names each program's own settings, which a later version
   * may rename): `doctor` notes any other version.
   */
  provenVersions: readonly string[];
  packageFor(version: string, arch: HostArch): AgentPackageSource;
  /** Variables besides the bottle's proxies and CA trust (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE). */
  environment(paths: AgentPaths, supervise: SuperviseMcp | null): Record<string, string>;
  /** The prompt, MCP registration and settings, in the provider's own files. */
  homeFiles(input: AgentConfigInput): AgentHomeFile[];
  /** Where named and path skills are copied, relative to the agent's home. */
  skillsDir: string;
  /** Arguments for an attached session with every permission (the bottle is the sandbox). */
  interactiveArgs: string[];
  /** Arguments that run one prompt to completion without a terminal. */
  headlessArgs(prompt: string): string[];
  modelApi: ModelApi;
}

/** `a b` → `'a b'`, for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
