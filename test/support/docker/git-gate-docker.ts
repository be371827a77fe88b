// Docker plumbing for the git-gate engine tests: run the docker CLI, build the images
// through the layer cache, and own every container and network a test creates under one
// name prefix, so cleanup removes exactly those and can prove nothing is left.
// It never pulls an image and never starts anything outside that prefix.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { NODE_IMAGE } from "../../../src/backend/engine/images.js";
import { runDocker } from "../swarm/docker-process.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BASE_IMAGE = process.env.CLAUDE_BOTTLE_BASE_IMAGE ?? "claude-bottle-base:bookworm";

export const SSHD_IMAGE = "claude-bottle-test/sshd-upstream:latest";

export interface SshKeyPair {
  privateKey: string;
  publicKey: string;
}

/**
 * ed25519 key pairs made in the sshd image (the host needs no ssh-keygen), one per
 * comment, in order. Build SSHD_IMAGE first.
 */
export async function sshKeyPairs(comments: readonly string[]): Promise<SshKeyPair[]> {
  const script = comments
    .map(
      (c, i) =>
        `ssh-keygen -q -t ed25519 -N "" -C '${c}' -f /tmp/k${i} && cat /tmp/k${i} /tmp/k${i}.pub`,
    )
    .join(" && ");
  const out = await docker(["run", "--rm", "--entrypoint", "sh", SSHD_IMAGE, "-c", script]);
  const pairs = [...out.stdout.matchAll(/(-----BEGIN[\s\S]+?-----END[^\n]*\n)([^\n]*)\n/g)].map(
    (m) => ({ privateKey: m[1] ?? "", publicKey: m[2] ?? "" }),
  );
  if (pairs.length !== comments.length || pairs.some((p) => p.publicKey === "")) {
    throw new Error(`unexpected ssh-keygen output:\n${out.stdout}`);
  }
  return pairs;
}

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerOptions {
  input?: string;
  /** Resolve with a non-zero exit instead of throwing. */
  allowFailure?: boolean;
}

/** `docker <args>` on this engine, for as long as it takes (an image build can take minutes). */
export function docker(
  args: readonly string[],
  options: DockerOptions = {},
): Promise<ProcessResult> {
  return runDocker(args, { ...options, timeoutMs: 0 });
}

/**
 * Builds from the package root, as Compose does; a warm cache makes this a check. An image
 * on the Node runtime (its Dockerfile names NODE_IMAGE) gets that built first, as images.ts
 * does for a bottle.
 */
export async function buildImage(dockerfile: string, tag: string): Promise<void> {
  const fromNode = (await readFile(`${REPO_ROOT}${dockerfile}`, "utf8")).includes("NODE_IMAGE");
  if (fromNode) await buildImage("images/node.Dockerfile", NODE_IMAGE);
  await docker([
    "build",
    "-q",
    "-f",
    `${REPO_ROOT}${dockerfile}`,
    "--build-arg",
    fromNode ? `NODE_IMAGE=${NODE_IMAGE}` : `BASE=${BASE_IMAGE}`,
    "-t",
    tag,
    REPO_ROOT,
  ]);
}

/** Every name this scratch space hands out starts with its prefix. */
export class DockerScratch {
  constructor(readonly prefix: string) {}

  name(suffix: string): string {
    return `${this.prefix}-${suffix}`;
  }

  async createNetwork(suffix: string, options: { internal: boolean }): Promise<string> {
    const name = this.name(suffix);
    await docker(["network", "create", ...(options.internal ? ["--internal"] : []), name]);
    return name;
  }

  async ipOn(container: string, network: string): Promise<string> {
    const format = `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`;
    return (await docker(["inspect", "-f", format, container])).stdout.trim();
  }

  /** Waits until `probe` resolves true, polling; throws with `what` after `timeoutMs`. */
  async waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await probe()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  /** Containers and networks still named with the prefix. */
  async leftovers(): Promise<string[]> {
    return [...(await this.containers()), ...(await this.networks())];
  }

  async removeAll(): Promise<void> {
    const containers = await this.containers();
    if (containers.length > 0) await docker(["rm", "-f", "-v", ...containers]);
    for (const network of await this.networks()) await docker(["network", "rm", network]);
  }

  private containers(): Promise<string[]> {
    return this.owned(["ps", "-a"], "{{.Names}}");
  }

  private networks(): Promise<string[]> {
    return this.owned(["network", "ls"], "{{.Name}}");
  }

  /** The names `list` finds under the prefix: docker's name filters match substrings, so
   * only true prefix matches are kept. */
  private async owned(list: string[], format: string): Promise<string[]> {
    const listed = await docker([...list, "--filter", `name=${this.prefix}-`, "--format", format]);
    return listed.stdout.split("\n").filter((name) => name.startsWith(`${this.prefix}-`));
  }
}
