// Every sidecar's image is claude-bottle/<name>:<version>, built from images/<name>.Dockerfile
// in the package: one rule, so a fifth sidecar cannot be named another way.
import { VERSION } from "../shared/version.js";

export type SidecarName = "pipelock" | "egress" | "git-gate" | "supervise";

export function sidecarImage(name: SidecarName): string {
  return `claude-bottle/${name}:${VERSION}`;
}

export function sidecarDockerfile(name: SidecarName): string {
  return `images/${name}.Dockerfile`;
}
