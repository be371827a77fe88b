// Names and paths of the egress sidecar: the proxy that injects route tokens.

/** Short network alias the agent dials; stable across bottles. */
export const EGRESS_HOSTNAME = "egress";
export const EGRESS_PORT = 8080;
export const EGRESS_ROUTES_IN_CONTAINER = "/etc/egress/routes.yaml";
export const EGRESS_CA_IN_CONTAINER = "/etc/egress/ca.pem";
export const EGRESS_CA_KEY_IN_CONTAINER = "/etc/egress/ca-key.pem";
export const EGRESS_PIPELOCK_CA_IN_CONTAINER = "/etc/egress/pipelock-ca.pem";

export function egressContainerName(slug: string): string {
  return `claude-bottle-egress-${slug}`;
}

export function egressProxyUrl(): string {
  return `http://${EGRESS_HOSTNAME}:${EGRESS_PORT}`;
}

/** Paths egress answers itself, never forwarded: for the agent and for Compose healthchecks. */
export const EGRESS_LOCAL_PREFIX = "/__egress/";
export const EGRESS_ROUTES_ENDPOINT = "/__egress/routes";
export const EGRESS_HEALTHZ_ENDPOINT = "/__egress/healthz";
