// Builds the images a bottle runs: the shared Node image, the agent image and the
// sidecars. An image is rebuilt only when its inputs changed: each carries a label with
// the hash of its Dockerfile, build arguments, the files it COPYs and its parent's hash,
// and one `docker image inspect` compares them all. Images are never pulled: a bottle
// works with no registry.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { DockerBottlePlan } from "../../core/bottle-plan.js";
import { bottlePlanToCompose } from "../../core/compose.js";
import { DEFAULT_AGENT_IMAGE } from "../../manifest/bottle-schema.js";
import type { BottleRuntime } from "../../manifest/resolved-bottle.js";
import { VERSION } from "../../shared/version.js";
import type { DockerClient } from "./docker-client.js";

export const NODE_IMAGE = `claude-bottle/node:${VERSION}`;
/** Built by scripts/setup-host.sh with debootstrap; used when present. */
export const OFFLINE_BASE_IMAGE = "claude-bottle-base:bookworm";
export const REGISTRY_BASE_IMAGE = "debian:bookworm-slim";
export const IMAGE_INPUT_LABEL = "dev.claude-bottle.input";

export interface ImageOptions {
  docker: DockerClient;
  /** Package root, holding images/ and dist/sidecars/. */
  buildContext: string;
  env: NodeJS.ProcessEnv;
  progress: (line: string) => void;
}

export interface ImageBuild {
  tag: string;
  dockerfile: string;
  context: string;
  args: Record<string, string>;
  /** A build that must come first, whose hash feeds this one's. */
  parent?: ImageBuild;
}

/** CLAUDE_BOTTLE_BASE_IMAGE, else the offline base when it exists, else Debian's. */
export async function chooseBaseImage(
  docker: DockerClient,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  if (env.CLAUDE_BOTTLE_BASE_IMAGE) return env.CLAUDE_BOTTLE_BASE_IMAGE;
  const offline = await docker.run(
    ["image", "inspect", "--format", "{{.Id}}", OFFLINE_BASE_IMAGE],
    {
      allowFailure: true,
    },
  );
  return offline.exitCode === 0 ? OFFLINE_BASE_IMAGE : REGISTRY_BASE_IMAGE;
}

/** Every image a plan needs, parents before children. */
export async function imagesForPlan(
  options: ImageOptions,
  plan: DockerBottlePlan,
  runtime: BottleRuntime,
): Promise<ImageBuild[]> {
  const base = await chooseBaseImage(options.docker, options.env);
  const node: ImageBuild = {
    tag: NODE_IMAGE,
    dockerfile: join(options.buildContext, "images/node.Dockerfile"),
    context: options.buildContext,
    args: { BASE: base },
  };
  const builds: ImageBuild[] = [node];
  if (runtime.kind === "dockerfile") {
    builds.push({
      tag: plan.runtimeImage,
      dockerfile: runtime.dockerfile,
      context: dirname(runtime.dockerfile),
      args: {},
    });
  } else if (runtime.image === DEFAULT_AGENT_IMAGE) {
    // No agent program inside: it is mounted from the host's cache, so this builds offline.
    builds.push({
      tag: plan.runtimeImage,
      dockerfile: join(options.buildContext, "images/agent.Dockerfile"),
      context: options.buildContext,
      args: { NODE_IMAGE },
      parent: node,
    });
  }
  for (const service of Object.values(bottlePlanToCompose(plan).services)) {
    if (service.build === undefined) continue;
    const dockerfile = join(service.build.context, service.build.dockerfile);
    const fromNode = (await readFile(dockerfile, "utf8")).includes("NODE_IMAGE");
    builds.push({
      tag: service.image,
      dockerfile,
      context: service.build.context,
      args: fromNode ? { NODE_IMAGE } : { BASE: base },
      ...(fromNode ? { parent: node } : {}),
    });
  }
  return builds;
}

/** Builds what is missing or stale; returns the tags it built. */
export async function ensureImages(
  options: ImageOptions,
  builds: readonly ImageBuild[],
): Promise<string[]> {
  const hashes = new Map<ImageBuild, string>();
  for (const b of builds) hashes.set(b, await inputHash(b, hashes));
  const current = await currentInputs(
    options.docker,
    builds.map((b) => b.tag),
  );
  const stale = builds.filter((b) => current.get(b.tag) !== hashes.get(b));
  for (const b of stale) {
    const started = Date.now();
    options.progress(`building image ${b.tag}…`);
    await options.docker.run([
      "build",
      "-q",
      "-f",
      b.dockerfile,
      ...Object.entries(b.args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
      "--label",
      `${IMAGE_INPUT_LABEL}=${hashes.get(b)}`,
      "-t",
      b.tag,
      b.context,
    ]);
    options.progress(`built image ${b.tag} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
  return stale.map((b) => b.tag);
}

async function inputHash(build: ImageBuild, known: Map<ImageBuild, string>): Promise<string> {
  const hash = createHash("sha256");
  const dockerfile = await readFile(build.dockerfile, "utf8");
  hash.update(dockerfile);
  hash.update(JSON.stringify(build.args));
  if (build.parent) hash.update(known.get(build.parent) ?? "");
  for (const source of copySources(dockerfile)) {
    hash.update(source);
    hash.update(await readFile(join(build.context, source)).catch(() => Buffer.from("(missing)")));
  }
  return hash.digest("hex").slice(0, 32);
}

/** Sources of single-file `COPY src dst` lines (what our Dockerfiles copy). */
export function copySources(dockerfile: string): string[] {
  const sources: string[] = [];
  for (const line of dockerfile.split("\n")) {
    const m = /^\s*COPY\s+(?:--\S+\s+)*(\S+)\s+\S+\s*$/i.exec(line);
    if (m?.[1] !== undefined) sources.push(m[1]);
  }
  return sources;
}

async function currentInputs(docker: DockerClient, tags: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(tags)];
  // Missing images make inspect exit non-zero but it still prints the ones it found.
  const result = await docker.run(
    [
      "image",
      "inspect",
      "--format",
      `{{json .RepoTags}} {{index .Config.Labels "${IMAGE_INPUT_LABEL}"}}`,
      ...unique,
    ],
    { allowFailure: true },
  );
  const found = new Map<string, string>();
  for (const line of result.stdout.split("\n")) {
    const space = line.indexOf("] ");
    if (space < 0) continue;
    const repoTags = JSON.parse(line.slice(0, space + 1)) as string[];
    const label = line.slice(space + 2).trim();
    for (const tag of repoTags) if (unique.includes(tag)) found.set(tag, label);
  }
  return found;
}
