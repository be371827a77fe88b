// Names and paths of the git-gate sidecar: the gate that scans pushes (gitleaks and the DLP
// engine's push scan) before forwarding them upstream.
import { sidecarDockerfile, sidecarImage } from "./sidecar-images.js";

export const GIT_GATE_IMAGE = sidecarImage("git-gate");
export const GIT_GATE_DOCKERFILE = sidecarDockerfile("git-gate");
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

/** git daemon's port; the gate serves git:// on the internal network only. */
export const GIT_GATE_PORT = 9418;
/** The upstream list the entrypoint reads (rendered by renderGitGateUpstreams). */
export const GIT_GATE_UPSTREAMS_IN_CONTAINER = "/etc/git-gate/upstreams.json";
/**
 * Approved gitleaks fingerprints, one per line, read on every push. Mount the directory,
 * not the file: a file replaced by rename stays stale behind a single-file bind mount.
 */
export const GIT_GATE_ALLOWLIST_DIR_IN_CONTAINER = "/etc/git-gate/allow";
export const GIT_GATE_ALLOWLIST_FILE = "gitleaks-allow.txt";
export const GIT_GATE_ALLOWLIST_IN_CONTAINER = `${GIT_GATE_ALLOWLIST_DIR_IN_CONTAINER}/${GIT_GATE_ALLOWLIST_FILE}`;
/** Baked into the image: gitleaks' default rules without its global path allowlist. */
export const GIT_GATE_GITLEAKS_CONFIG_IN_IMAGE = "/usr/local/share/git-gate/gitleaks.toml";

/**
 * The scripts prepare stages (mode 0755) and the renderer mounts, by their file names in
 * src/sidecars/git-gate/, keyed by the gitGatePlan field that holds their staged path.
 */
export const GIT_GATE_SCRIPTS = {
  entrypointScript: "entrypoint.sh",
  hookScript: "pre-receive",
  accessHookScript: "access-hook",
} as const;

/** The gate's URL for one upstream, as the agent's git sees it. */
export function gitGateRepoUrl(slug: string, upstreamName: string): string {
  return `git://${gitGateContainerName(slug)}/${upstreamName}.git`;
}
/** The push scan beside gitleaks (bundled from main.ts), run by the pre-receive hook. */
export const GIT_GATE_SCANNER_IN_IMAGE = "/opt/claude-bottle/git-gate.mjs";
/**
 * The bottle's secrets as gitleaks rules, written by the entrypoint from the environment,
 * readable by the gate user only; the push scan reads the secrets back from it.
 */
export const GIT_GATE_BOTTLE_RULES_IN_CONTAINER = "/var/lib/git-gate/gitleaks-bottle.toml";

export const GIT_GATE_SECRET_RULES_ENV = "GIT_GATE_SECRET_RULES";

/**
 * Set to "pod" where the gate's one interface carries the default route (a Kubernetes pod):
 * it listens there, leaving the fencing to the NetworkPolicy. Unset, it refuses to (Compose,
 * Swarm: it serves the internal network only). Read by entrypoint.sh.
 */
export const GIT_GATE_LISTEN_ENV = "GIT_GATE_LISTEN";
