// Names and paths of the pipelock sidecar: the egress firewall every bottle has.
import { VERSION } from "../../shared/version.js";

export const PIPELOCK_IMAGE = `claude-bottle/pipelock:${VERSION}`;
export const PIPELOCK_DOCKERFILE = "images/pipelock.Dockerfile";
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
