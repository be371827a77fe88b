// The demo's stand-ins for the outside world, run as local containers: an HTTPS service
// answering under the demo's hostnames (certificates from a CA of the demo's own, which the
// bottle is told to trust), and an sshd git host. Nothing here reaches a real host.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DockerClient } from "../backend/engine/docker-client.js";
import { NODE_IMAGE } from "../backend/engine/images.js";
import { type CaPem, loadCa, mintCa, mintLeafCertificate } from "../shared/ca/index.js";
import { VERSION } from "../shared/version.js";

export const DEMO_LABEL = "dev.claude-bottle.demo";
export const DEMO_GIT_IMAGE = `claude-bottle/demo-git:${VERSION}`;

export interface DemoCa {
  ca: CaPem;
  caFile: string;
  /** Certificates for the HTTPS stand-in, by hostname. */
  certsFile: string;
}

export async function makeDemoCa(
  dir: string,
  hostnames: readonly string[],
  now: Date,
): Promise<DemoCa> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await mintCa({ commonName: "claude-bottle demo upstreams", now });
  const caFile = join(dir, "upstream-ca.pem");
  await writeFile(caFile, ca.certPem);
  return { ca, caFile, certsFile: await writeStubCerts(dir, ca, hostnames, now) };
}

/** The HTTPS stand-in's certificates, one per hostname signed by `ca`, as certs.json in `dir`. */
export async function writeStubCerts(
  dir: string,
  ca: CaPem,
  hostnames: readonly string[],
  now: Date,
): Promise<string> {
  const signing = await loadCa(ca);
  const certs: Record<string, { cert: string; key: string }> = {};
  for (const host of hostnames) {
    const leaf = await mintLeafCertificate(signing, host, { now });
    certs[host] = { cert: leaf.chainPem, key: leaf.keyPem };
  }
  const certsFile = join(dir, "certs.json");
  await writeFile(certsFile, JSON.stringify(certs), { mode: 0o600 });
  return certsFile;
}

/** Starts the HTTPS stand-in on `network` under `hostnames`; returns its container name. */
export async function startHttpsStub(
  docker: DockerClient,
  options: {
    name: string;
    network: string;
    hostnames: readonly string[];
    serverScript: string;
    certsFile: string;
    /** Labels to find it by; the demo's own by default. */
    labels?: Record<string, string>;
    /** The server's environment (paths under /srv, where its directory is mounted). */
    env?: Record<string, string>;
  },
): Promise<string> {
  const dir = join(options.certsFile, "..");
  const script = join(dir, "server.mjs");
  await writeFile(script, await readFile(options.serverScript));
  await docker.run([
    "run",
    "-d",
    "--name",
    options.name,
    ...Object.entries(options.labels ?? { [DEMO_LABEL]: "1" }).flatMap(([k, v]) => [
      "--label",
      `${k}=${v}`,
    ]),
    "--network",
    options.network,
    ...options.hostnames.flatMap((h) => ["--network-alias", h]),
    ...Object.entries(options.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    "-v",
    `${dir}:/srv:ro`,
    "--entrypoint",
    "node",
    NODE_IMAGE,
    "/srv/server.mjs",
  ]);
  await waitFor(docker, options.name, [
    "node",
    "-e",
    "require('net').connect(443,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))",
  ]);
  return options.name;
}

/** Starts the sshd git host (on the default bridge until the bottle's network exists); returns its host key. */
export async function startGitStub(
  docker: DockerClient,
  options: { name: string; authorizedKey: string },
): Promise<string> {
  await docker.run([
    "run",
    "-d",
    "--name",
    options.name,
    "--label",
    `${DEMO_LABEL}=1`,
    "-e",
    `AUTHORIZED_KEY=${options.authorizedKey}`,
    DEMO_GIT_IMAGE,
  ]);
  await waitFor(docker, options.name, ["test", "-s", "/etc/ssh/ssh_host_ed25519_key.pub"]);
  const key = await docker.run(["exec", options.name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"]);
  return key.stdout.trim().split(/\s+/).slice(0, 2).join(" ");
}

async function waitFor(docker: DockerClient, container: string, probe: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const r = await docker.run(["exec", container, ...probe], { allowFailure: true });
    if (r.exitCode === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`demo stand-in ${container} did not come up within 30 s`);
}

/** Removes every demo stand-in, whatever state it is in. */
export async function removeDemoStubs(docker: DockerClient): Promise<void> {
  const ids = await docker.run(["ps", "-aq", "--filter", `label=${DEMO_LABEL}`], {
    allowFailure: true,
  });
  const list = ids.stdout.split("\n").filter(Boolean);
  if (list.length > 0) await docker.run(["rm", "-f", ...list], { allowFailure: true });
}
