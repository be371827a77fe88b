// The manifest layer's output: a bottle with `extends` folded in and defaults applied, and
// an agent with its bottle. Plain camelCase data; every entry keeps where it was written
// so that later messages (a 403, a proposal) can point at the line to edit.
import type { AllowRuleKind } from "./host-pattern.js";
import type { HostKeyType } from "./ssh-host-key.js";

/** The agent programs a bottle can run; src/agents/ holds one module per provider. */
export const AGENT_PROVIDERS = ["claude", "codex", "gemini"] as const;
export type AgentProvider = (typeof AGENT_PROVIDERS)[number];

/**
 * The public package registries a bottle may read (`registries:`). Their addresses are never
 * written in a manifest: each is read at start from the host's own client configuration.
 */
export const PACKAGE_REGISTRIES = ["npm", "pypi"] as const;
export type PackageRegistry = (typeof PACKAGE_REGISTRIES)[number];

export const DLP_ACTIONS = ["block", "warn"] as const;
export type DlpAction = (typeof DLP_ACTIONS)[number];

/** How much the labels under a "*.domain" rule may say; see docs/manifests.md. */
export interface WildcardLabelBound {
  /** The longest label allowed. */
  maxLength: number;
  /** Chosen parts with at least this many letters and digits are judged for randomness. */
  randomMinLength: number;
}

export const DEFAULT_WILDCARD_LABELS: WildcardLabelBound = { maxLength: 40, randomMinLength: 16 };

/** Distinct names a bottle may use under each "*.domain" rule; see docs/manifests.md. */
export const DEFAULT_WILDCARD_NAMES = 32;

/** Requests per second to one host, and how many may come at once; see docs/manifests.md. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 1000 };

/** `egress.rate_limit`: the limit for every host, and hosts (allow patterns) set apart. */
export interface BottleRateLimit extends RateLimit {
  /** What a host entry leaves unset comes from the bottle-wide limit. */
  hosts: { pattern: string; perSecond?: number; burst?: number; declaredAt: SourceLocation }[];
}

export const AUTH_SCHEMES = ["Bearer", "Basic", "token", "x-api-key"] as const;
export type AuthScheme = (typeof AUTH_SCHEMES)[number];

/**
 * How a route's token goes on a request: in Authorization (or X-Api-Key) by scheme, or as
 * the whole value of a header the manifest names (`auth: {header: x-goog-api-key, …}`).
 */
export type RouteAuth =
  | { scheme: AuthScheme; tokenEnv: string }
  /** `header` is lowercase and passed routeHeaderProblem. */
  | { scheme: "header"; header: string; tokenEnv: string };

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface SourceLocation {
  /** Absolute path of the manifest. */
  file: string;
  /** The path as shown to the user ("~/.claude-bottle/bottles/dev.md"). */
  label: string;
  line: number;
  col: number;
}

export type BottleEnvValue =
  | { kind: "literal"; value: string; declaredAt: SourceLocation }
  /** Read from the host variable `hostName` at start; the value never enters a file. */
  | { kind: "fromEnv"; hostName: string; declaredAt: SourceLocation };

export interface AllowRule {
  kind: AllowRuleKind;
  /** Canonical text: "api.example.test", "*.example.test:8443", "203.0.113.7". */
  pattern: string;
  /** The host, the domain under a wildcard ("example.test"), or the IP address. */
  host: string;
  /** Null: the default web ports, 443 and 80. */
  port: number | null;
  /** "route" when the entry is there because a route names the host. */
  via: "allow" | "allow_ips" | "route";
  declaredAt: SourceLocation;
}

export interface BottleRoute {
  host: string;
  /** Path prefixes, each starting with "/". */
  paths: string[];
  methods: HttpMethod[] | "all";
  auth: RouteAuth;
  declaredAt: SourceLocation;
}

export interface BottleGitUpstream {
  name: string;
  url: string;
  host: string;
  port: number | null;
  /** Absolute host path, checked readable at load. */
  identityFile: string;
  knownHostKey: { type: HostKeyType; key: string; line: string };
  declaredAt: SourceLocation;
}

export type BottleRuntime =
  | { kind: "image"; image: string }
  /** Built with the Dockerfile's directory as the context. */
  | { kind: "dockerfile"; dockerfile: string };

export interface ResolvedBottle {
  name: string;
  file: string;
  label: string;
  /** The Markdown body: documentation for people, not used by the bottle. */
  doc: string;
  /** Bottle names in the order their keys were applied, ending with this one. */
  chain: string[];
  env: Record<string, BottleEnvValue>;
  egress: {
    allow: AllowRule[];
    routes: BottleRoute[];
    dlp: DlpAction;
    wildcardLabels: WildcardLabelBound;
    wildcardNames: number;
    rateLimit: BottleRateLimit;
  };
  git: BottleGitUpstream[];
  /** Registries reachable read-only, in the order first named; absent: none. */
  registries?: PackageRegistry[];
  supervise: boolean;
  runtime: BottleRuntime;
  agent: AgentProvider;
  /** The provider's version when the manifest pins one; else its module's default. */
  agentVersion?: string;
}

export type AgentSkill =
  | { kind: "name"; name: string }
  | { kind: "path"; path: string; declaredAt: SourceLocation };

export type AgentSource = "home" | "repo";

export interface ResolvedAgent {
  name: string;
  file: string;
  label: string;
  source: AgentSource;
  description: string | null;
  /** The Markdown body: the agent's system prompt. */
  prompt: string;
  skills: AgentSkill[];
  bottle: ResolvedBottle;
}
