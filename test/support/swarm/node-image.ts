// The image every swarm node runs (images/swarm-node/Dockerfile): built FROM the local base
// image and tagged by a hash of its Dockerfile and of the base image's ID, so a second run
// finds the tag and builds nothing, and a changed Dockerfile or base gets a new tag (the
// old ones are untagged then).
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { BASE_IMAGE, docker, REPO_ROOT } from "../docker/git-gate-docker.js";

const DOCKERFILE = "images/swarm-node/Dockerfile";
const REPOSITORY = "claude-bottle-test/swarm-node";
/** On the node image, so `docker image ls --filter label=…` finds every built version. */
export const NODE_IMAGE_LABEL = "dev.claude-bottle.test.swarm-node";

export interface NodeImage {
  tag: string;
  /** False when the tag was already there (a warm run). */
  built: boolean;
}

/** The node image's tag for the current Dockerfile and base image. */
export async function nodeImageTag(base = BASE_IMAGE): Promise<string> {
  const dockerfile = await readFile(`${REPO_ROOT}${DOCKERFILE}`);
  const baseId = (await docker(["image", "inspect", "-f", "{{.Id}}", base])).stdout.trim();
  const hash = createHash("sha256").update(dockerfile).update("\0").update(baseId).digest("hex");
  return `${REPOSITORY}:${hash.slice(0, 16)}`;
}

/** Builds the node image unless its content-hash tag already exists. */
export async function ensureNodeImage(base = BASE_IMAGE): Promise<NodeImage> {
  const tag = await nodeImageTag(base);
  const present = await docker(["image", "inspect", tag], { allowFailure: true });
  if (present.code === 0) return { tag, built: false };
  // The Dockerfile copies nothing from its context: its own folder is enough.
  await docker([
    "build",
    "-q",
    "-f",
    `${REPO_ROOT}${DOCKERFILE}`,
    "--build-arg",
    `BASE=${base}`,
    "--label",
    `${NODE_IMAGE_LABEL}=1`,
    "-t",
    tag,
    `${REPO_ROOT}images/swarm-node`,
  ]);
  // Older versions' tags go (a tag only: layers still in use stay), so they do not pile up.
  const tags = await docker(["image", "ls", REPOSITORY, "--format", "{{.Repository}}:{{.Tag}}"]);
  const stale = tags.stdout.split("\n").filter((t) => t !== "" && t !== tag);
  if (stale.length > 0) await docker(["image", "rm", ...stale], { allowFailure: true });
  return { tag, built: true };
}
