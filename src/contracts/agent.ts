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

/** Set on every container and network of a bottle; its value is the slug. */
export const BOTTLE_SLUG_LABEL = "dev.claude-bottle.slug";
/** Set on every container and network of a bottle; its value is the owning home's path. */
export const BOTTLE_HOME_LABEL = "dev.claude-bottle.home";
