// Names and paths of the supervise sidecar: the MCP server through which the agent asks.

/** Short network alias the agent dials; stable across bottles. */
export const SUPERVISE_HOSTNAME = "supervise";
export const SUPERVISE_PORT = 8765;
export const QUEUE_DIR_IN_CONTAINER = "/var/lib/supervise/queue";
/** Where the agent sees the bottle's current policy (read-only). */
export const CURRENT_CONFIG_DIR_IN_AGENT = "/etc/claude-bottle/current";

export function superviseContainerName(slug: string): string {
  return `claude-bottle-supervise-${slug}`;
}

/** The MCP endpoint's path; the agent's MCP config points at superviseMcpUrl(). */
export const SUPERVISE_MCP_PATH = "/mcp";
/** A plain GET here answers 200 "ok" (for a Compose healthcheck). */
export const SUPERVISE_HEALTH_PATH = "/healthz";
/** The server name the agent's MCP config registers the sidecar under. */
export const SUPERVISE_MCP_SERVER_NAME = "supervise";

export function superviseMcpUrl(): string {
  return `http://${SUPERVISE_HOSTNAME}:${SUPERVISE_PORT}${SUPERVISE_MCP_PATH}`;
}

/** Environment the sidecar reads (the renderer sets the first three). */
export const SUPERVISE_ENV = {
  slug: "SUPERVISE_BOTTLE_SLUG",
  queueDir: "SUPERVISE_QUEUE_DIR",
  port: "SUPERVISE_PORT",
  /** How long a request tool call waits for the human before answering timed_out. */
  answerTimeoutSeconds: "SUPERVISE_ANSWER_TIMEOUT_SECONDS",
} as const;
export const SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS = 600;
/**
 * Proposals of one bottle waiting for the human at once. A person reads each one before
 * deciding; more than this is a flood, not a task's needs, and is refused to the agent.
 */
export const SUPERVISE_MAX_PENDING_PROPOSALS = 20;
/** fs.watch misses changes made on the other side of a bind mount: poll instead. */
export const SUPERVISE_POLL_INTERVAL_MS = 250;

/** The tools the agent sees. */
export const SUPERVISE_TOOLS = {
  requestEgressHost: "request_egress_host",
  requestGitleaksException: "request_gitleaks_exception",
  showPolicy: "show_policy",
  proposalStatus: "proposal_status",
  listProposals: "list_proposals",
} as const;

/**
 * The queue directory (host: `<state>/supervise/queue`, bind-mounted read-write): the
 * sidecar writes `proposals/<id>.json`, the host writes `answers/<id>.json` (after claiming
 * the proposal with an exclusive `answers/<id>.claim`) and `policy.json`.
 */
export const QUEUE_PROPOSALS_DIR = "proposals";
export const QUEUE_ANSWERS_DIR = "answers";
/**
 * The sidecar's own index: `keys/<request key>[-<earlier id>]` holds the id of the proposal
 * filed for that request, created with link(2) so that only one filer can ever win it.
 */
export const QUEUE_KEYS_DIR = "keys";
/** The bottle's policy as the agent may see it; also in the current-config dir. */
export const POLICY_SNAPSHOT_FILE = "policy.json";
