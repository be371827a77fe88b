// Builds the images a bottle runs: the shared Node image, the agent image and the
// sidecars. Every build goes through the engine's layer cache, so a warm start costs a
// cache check, not a rebuild. Images are never pulled: a bottle works with no registry.
import { join } from "node:path";
import { DEFAULT_AGENT_IMAGE } from "../../manifest/bottle-schema.js";
import { VERSION } from "../../shared/version.js";
import { composeProjectName } from "./agent-constants.js";
import type { DockerBottlePlan } from "./bottle-plan.js";
import type { DockerClient } from "./docker-client.js";

export const NODE_IMAGE = `claude-bottle/node:${VERSION}`;
/** Built by scripts/setup-host.sh with debootstrap; used when present. */
export const OFFLINE_BASE_IMAGE = "claude-bottle-base:bookworm";
export const REGISTRY_BASE_IMAGE = "debian:bookworm-slim";

export interface ImageOptions {
  docker: DockerClient;
  /** Package root, holding images/ and dist/sidecars/. */
  buildContext: string;
  env: NodeJS.ProcessEnv;
  progress: (line: string) => void;
}

/** CLAUDE_BOTTLE_BASE_IMAGE, else the offline base when it exists, else Debian's. */
export async function chooseBaseImage(
  docker: DockerClient,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  if (env.CLAUDE_BOTTLE_BASE_IMAGE) return env.CLAUDE_BOTTLE_BASE_IMAGE;
  const offline = await docker.run(["image", "inspect", OFFLINE_BASE_IMAGE], {
    allowFailure: true,
  });
  return offline.exitCode === 0 ? OFFLINE_BASE_IMAGE : REGISTRY_BASE_IMAGE;
}

export async function buildNodeImage(options: ImageOptions): Promise<void> {
  const base = await chooseBaseImage(options.docker, options.env);
  await timed(options, `image ${NODE_IMAGE} (from ${base})`, () =>
    options.docker.run([
      "build",
      "-q",
      "-f",
      join(options.buildContext, "images/node.Dockerfile"),
      "--build-arg",
      `BASE=${base}`,
      "-t",
      NODE_IMAGE,
      options.buildContext,
    ]),
  );
}

/** The agent image: the built-in one, a bottle's own Dockerfile, or a named image as is. */
export async function buildAgentImage(
  options: ImageOptions,
  runtime: { kind: "image"; image: string } | { kind: "dockerfile"; dockerfile: string },
  tag: string,
): Promise<void> {
  if (runtime.kind === "dockerfile") {
    const context = runtime.dockerfile.replace(/\/[^/]*$/, "") || "/";
    await timed(options, `image ${tag} (from ${runtime.dockerfile})`, () =>
      options.docker.run(["build", "-q", "-f", runtime.dockerfile, "-t", tag, context]),
    );
    return;
  }
  if (runtime.image !== DEFAULT_AGENT_IMAGE) return;
  // CLAUDE_BOTTLE_INSTALL_CLAUDE_CODE=0 builds without Claude Code, for offline machines.
  const install = options.env.CLAUDE_BOTTLE_INSTALL_CLAUDE_CODE === "0" ? "0" : "1";
  await timed(options, `image ${tag}${install === "0" ? " (without Claude Code)" : ""}`, () =>
    options.docker.run([
      "build",
      "-q",
      "-f",
      join(options.buildContext, "images/agent.Dockerfile"),
      "--build-arg",
      `INSTALL_CLAUDE_CODE=${install}`,
      "-t",
      tag,
      options.buildContext,
    ]),
  );
}

export async function buildSidecarImages(
  options: ImageOptions,
  plan: DockerBottlePlan,
  composeFile: string,
): Promise<void> {
  await timed(options, "sidecar images", () =>
    options.docker.run([
      "compose",
      "-p",
      composeProjectName(plan.slug),
      "-f",
      composeFile,
      "build",
      "-q",
    ]),
  );
}

async function timed(
  options: ImageOptions,
  what: string,
  step: () => Promise<unknown>,
): Promise<void> {
  const started = Date.now();
  options.progress(`building ${what}…`);
  await step();
  options.progress(`built ${what} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}
