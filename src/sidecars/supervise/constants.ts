// Names and paths of the supervise sidecar: the MCP server through which the agent asks.
import { VERSION } from "../../shared/version.js";

export const SUPERVISE_IMAGE = `claude-bottle/supervise:${VERSION}`;
export const SUPERVISE_DOCKERFILE = "images/supervise.Dockerfile";
/** Short network alias the agent dials; stable across bottles. */
export const SUPERVISE_HOSTNAME = "supervise";
export const SUPERVISE_PORT = 8765;
export const QUEUE_DIR_IN_CONTAINER = "/var/lib/supervise/queue";
/** Where the agent sees the bottle's current policy (read-only). */
export const CURRENT_CONFIG_DIR_IN_AGENT = "/etc/claude-bottle/current";

export function superviseContainerName(slug: string): string {
  return `claude-bottle-supervise-${slug}`;
}
