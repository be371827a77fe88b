// Names and paths inside the agent container.

/** The bottle's CA certificate(s), as the agent trusts them (NODE_EXTRA_CA_CERTS). */
export const AGENT_CA_PATH = "/usr/local/share/ca-certificates/claude-bottle.crt";
/** The system bundle after update-ca-certificates has added the bottle's CA. */
export const AGENT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export function agentContainerName(slug: string): string {
  return `claude-bottle-agent-${slug}`;
}

export function composeProjectName(slug: string): string {
  return `claude-bottle-${slug}`;
}

/** The bottle's two networks: the agent's (internal, no route out) and the proxies' way out. */
export function bottleNetworkName(slug: string, which: "internal" | "egress"): string {
  return `claude-bottle-${slug}-${which}`;
}

/** Set by the bottle itself (proxy and CA trust): never from a manifest or a plan. */
export const RESERVED_ENV_NAMES: readonly string[] = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "REQUESTS_CA_BUNDLE",
  "CODEX_CA_CERTIFICATE",
];

/** Set on every container and network of a bottle; its value is the slug. */
export const BOTTLE_SLUG_LABEL = "dev.claude-bottle.slug";
/** Set on every container and network of a bottle; its value is the owning home's path. */
export const BOTTLE_HOME_LABEL = "dev.claude-bottle.home";
