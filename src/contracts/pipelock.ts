// Names and paths of the pipelock sidecar: the egress firewall every bottle has.
import { sidecarImage } from "./sidecar-images.js";

export const PIPELOCK_IMAGE = sidecarImage("pipelock");
export const PIPELOCK_PORT = 8888;
export const PIPELOCK_CONFIG_IN_CONTAINER = "/etc/pipelock.yaml";
export const PIPELOCK_CA_CERT_IN_CONTAINER = "/etc/pipelock/ca.pem";
export const PIPELOCK_CA_KEY_IN_CONTAINER = "/etc/pipelock/ca-key.pem";

export function pipelockContainerName(slug: string): string {
  return `claude-bottle-pipelock-${slug}`;
}

export function pipelockProxyUrl(slug: string): string {
  return `http://${pipelockContainerName(slug)}:${PIPELOCK_PORT}`;
}

/**
 * pipelock answers a plain GET for this path on its own address with 200 "ok", e.g.
 * `http://127.0.0.1:8888/__pipelock/healthz`, for its Compose healthcheck (httpHealthcheck in
 * src/core/compose.ts asks it with bash, not node: fifty checks' Node start-ups cost too much).
 */
export const PIPELOCK_HEALTH_PATH = "/__pipelock/healthz";
export const PIPELOCK_HEALTH_URL = `http://127.0.0.1:${PIPELOCK_PORT}${PIPELOCK_HEALTH_PATH}`;
/** Extra PEM CA bundle trusted for upstream TLS, on top of the default roots (tests, private CAs). */
export const PIPELOCK_UPSTREAM_CA_FILE_ENV = "PIPELOCK_UPSTREAM_CA_FILE";
/** Where a bottle's extra upstream CA bundle is mounted, when it has one. */
export const PIPELOCK_UPSTREAM_CA_IN_CONTAINER = "/etc/pipelock/upstream-ca.pem";
export const PIPELOCK_DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
