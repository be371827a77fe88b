// The escape tests' git upstream: an sshd with a bare repository /srv/git/app.git, an
// identity made for it, and its pinned host key. It starts on a parking network of its own
// (the bottle's networks do not exist yet) and joins the bottle's egress network under
// UPSTREAM_HOST once the bottle is up. Everything carries the escape scope's labels.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunningBottle } from "../docker/bottle-harness.js";
import { buildImage, docker, SSHD_IMAGE, sshKeyPairs } from "../docker/git-gate-docker.js";
import { type EscapeScope, runDetached } from "./escape-standins.js";

export const UPSTREAM_HOST = "git.upstream.test";
export const APP_URL = `ssh://git@${UPSTREAM_HOST}/srv/git/app.git`;

export interface EscapeGitUpstream {
  /** The sshd container's name. */
  container: string;
  /** The identity's private key, for tests that must find it nowhere. */
  identity: string;
  /** The identity as a 0600 file, for the bottle's `identity_file`. */
  keyFile: string;
  /** The upstream's host key, for the bottle's `known_host_key`. */
  hostKey: string;
  /** A shell script in the upstream as the git user. */
  exec(script: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Moves the upstream onto the bottle's egress network, as UPSTREAM_HOST. */
  joinBottle(bottle: RunningBottle): Promise<void>;
}

/** Starts the upstream; `dir` holds the key file. */
export async function startEscapeGitUpstream(
  scope: EscapeScope,
  dir: string,
): Promise<EscapeGitUpstream> {
  await buildImage("images/sshd-upstream.Dockerfile", SSHD_IMAGE);
  const container = scope.name("sshd");
  const [pair] = await sshKeyPairs(["gate"]);
  if (pair === undefined) throw new Error("ssh-keygen made no key");
  const { privateKey: identity, publicKey } = pair;

  const keyFile = join(dir, "app-key");
  await writeFile(keyFile, identity, { mode: 0o600 });

  const parking = scope.name("parking");
  await docker(["network", "create", ...scope.labels(), "--internal", parking]);
  await docker([
    ...runDetached(scope, container, parking),
    "-e",
    `AUTHORIZED_KEY=${publicKey}`,
    SSHD_IMAGE,
  ]);
  const exec = (script: string) =>
    docker(["exec", "-u", "git", container, "sh", "-c", script], { allowFailure: true });
  const deadline = Date.now() + 30_000;
  while ((await exec("test -s /run/upstream-sshd.pid")).code !== 0) {
    if (Date.now() > deadline) throw new Error("the upstream's sshd did not start");
    await new Promise((r) => setTimeout(r, 200));
  }
  const hostKey = (
    await docker(["exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
  ).stdout.trim();
  return {
    container,
    identity,
    keyFile,
    hostKey,
    exec,
    async joinBottle(bottle) {
      await docker([
        "network",
        "connect",
        "--alias",
        UPSTREAM_HOST,
        bottle.egressNetwork,
        container,
      ]);
      await docker(["network", "disconnect", parking, container]);
    },
  };
}

/** A bottle's `git:` entry for the upstream, as manifest YAML lines. */
export function gitRemoteYaml(upstream: Pick<EscapeGitUpstream, "keyFile" | "hostKey">): string {
  return `git:
  - name: app
    url: ${APP_URL}
    identity_file: ${upstream.keyFile}
    known_host_key: ${upstream.hostKey}`;
}
