// Names and paths of the git-gate sidecar: the gate that scans pushes with gitleaks.
import { VERSION } from "../../shared/version.js";

export const GIT_GATE_IMAGE = `claude-bottle/git-gate:${VERSION}`;
export const GIT_GATE_DOCKERFILE = "images/git-gate.Dockerfile";
export const GIT_GATE_ENTRYPOINT_IN_CONTAINER = "/usr/local/bin/git-gate-entrypoint";
export const GIT_GATE_HOOK_IN_CONTAINER = "/etc/git-gate/hooks/pre-receive";
export const GIT_GATE_ACCESS_HOOK_IN_CONTAINER = "/etc/git-gate/hooks/access-hook";
export const GIT_GATE_CREDS_DIR_IN_CONTAINER = "/etc/git-gate/creds";

export function gitGateContainerName(slug: string): string {
  return `claude-bottle-git-gate-${slug}`;
}

/** Where one upstream's identity file appears inside the gate. */
export function gitGateIdentityPath(upstreamName: string): string {
  return `${GIT_GATE_CREDS_DIR_IN_CONTAINER}/${upstreamName}-key`;
}
