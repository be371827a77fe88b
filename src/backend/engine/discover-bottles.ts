// Finds every bottle on this machine from what the engine and the disk say: containers
// and networks carrying the slug label, and state directories. Works after the CLI was
// killed, after the engine restarted, and with the state directory gone.
import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BOTTLE_HOME_LABEL, BOTTLE_SLUG_LABEL, composeProjectName } from "../../contracts/agent.js";
import { stateRootOf } from "../../core/state-layout.js";
import { BottleError } from "../../shared/errors.js";
import type { FoundBottle, RemovalBounds } from "../backend.js";
import { isProcessAlive, listStateDirs, ranBy, readMetadata } from "../bottle-state.js";
import { boundedClient, type DockerClient } from "./docker-client.js";

const CONTAINER_FORMAT = `{"name":{{json .Names}},"state":{{json .State}},"status":{{json .Status}},"slug":{{json (.Label "${BOTTLE_SLUG_LABEL}")}},"service":{{json (.Label "com.docker.compose.service")}}}`;
const NETWORK_FORMAT = `{"name":{{json .Name}},"slug":{{json (.Label "${BOTTLE_SLUG_LABEL}")}}}`;

interface DockerPsLine {
  name: string;
  state: string;
  status: string;
  slug: string;
  service: string;
}

function jsonLines<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as T);
}

/** The bottles found so far, by slug: what the engine says, then what the disk says. */
export class BottleIndex {
  private readonly bySlug = new Map<string, FoundBottle>();

  entry(slug: string): FoundBottle {
    let found = this.bySlug.get(slug);
    if (found === undefined) {
      found = {
        slug,
        project: composeProjectName(slug),
        containers: [],
        networks: [],
        stateDir: null,
        metadata: null,
        attached: false,
      };
      this.bySlug.set(slug, found);
    }
    return found;
  }

  /**
   * Adds the home's state directories: each one's metadata, and whether its CLI still runs
   * here. A state directory of another backend's bottle the engine did not show is that
   * backend's to list and remove.
   */
  async addStateDirs(home: string, backend: string): Promise<void> {
    const here = hostname();
    for (const slug of await listStateDirs(home)) {
      const stateDir = join(stateRootOf(home), slug);
      const metadata = await readMetadata(stateDir);
      if (!this.bySlug.has(slug) && !ranBy(metadata, backend)) continue;
      const found = this.entry(slug);
      found.stateDir = stateDir;
      found.metadata = metadata;
      found.attached =
        metadata !== null && metadata.hostname === here && isProcessAlive(metadata.pid);
    }
  }

  sorted(): FoundBottle[] {
    return [...this.bySlug.values()].sort((a, b) => a.slug.localeCompare(b.slug));
  }
}

const LIST_MS = 30_000;

export async function discoverBottles(docker: DockerClient, home: string): Promise<FoundBottle[]> {
  // Only this home's bottles: another home (another user's, a test's) is not ours to remove.
  const mine = [
    "--filter",
    `label=${BOTTLE_SLUG_LABEL}`,
    "--filter",
    `label=${BOTTLE_HOME_LABEL}=${home}`,
  ];
  // Bounded: a stop or cleanup that cannot list says so rather than waiting on the engine.
  const [ps, nets] = await Promise.all([
    docker.run(["ps", "-a", ...mine, "--format", CONTAINER_FORMAT], { timeoutMs: LIST_MS }),
    docker.run(["network", "ls", ...mine, "--format", NETWORK_FORMAT], { timeoutMs: LIST_MS }),
  ]);
  const index = new BottleIndex();
  for (const c of jsonLines<DockerPsLine>(ps.stdout)) {
    index.entry(c.slug).containers.push({
      name: c.name,
      service: c.service,
      state: c.state,
      status: c.status,
    });
  }
  for (const n of jsonLines<{ name: string; slug: string }>(nets.stdout))
    index.entry(n.slug).networks.push(n.name);
  await index.addStateDirs(home, "compose");
  return index.sorted();
}

/** How long each part of a removal may take: `compose down`, then the forced removal. */
export const DEFAULT_REMOVAL_BOUNDS: RemovalBounds = { gracefulMs: 30_000, forcedMs: 30_000 };

/** What still carries a bottle's label on the engine; null when the engine did not answer. */
export interface LabelledLeft {
  containers: Array<{ id: string; name: string }>;
  networks: Array<{ id: string; name: string }>;
}

/** Containers and networks carrying the bottle's slug label, or null when the engine fails. */
export async function listLabelled(
  docker: DockerClient,
  slug: string,
): Promise<LabelledLeft | null> {
  const label = ["--filter", `label=${BOTTLE_SLUG_LABEL}=${slug}`];
  const [ps, nets] = await Promise.all([
    docker.run(["ps", "-a", ...label, "--format", "{{.ID}}\t{{.Names}}"], { allowFailure: true }),
    docker.run(["network", "ls", ...label, "--format", "{{.ID}}\t{{.Name}}"], {
      allowFailure: true,
    }),
  ]);
  if (ps.exitCode !== 0 || nets.exitCode !== 0) return null;
  const rows = (text: string) =>
    text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => {
        const [id = "", name = ""] = l.split("\t");
        return { id, name };
      });
  return { containers: rows(ps.stdout), networks: rows(nets.stdout) };
}

/**
 * Removes everything of one bottle, in bounded time: `compose down` (graceful, then killed
 * at its bound), then `docker rm -f` of every container carrying the bottle's label and
 * `docker network rm` of its networks (networks last), again until nothing is left or the
 * bound is reached. Ends by listing what carries the label: anything left is an error naming
 * it, and the state directory is then kept for the next try. Safe to run twice, or twice at
 * once. Every call runs in its own process group, so a Ctrl-C cannot cut a removal short.
 * Found by slug: slugs carry random suffixes, so they do not collide across homes.
 */
export async function removeBottle(
  docker: DockerClient,
  bottle: Pick<FoundBottle, "slug" | "project" | "stateDir">,
  bounds: RemovalBounds = DEFAULT_REMOVAL_BOUNDS,
): Promise<void> {
  const graceful = boundedClient(docker, Date.now() + bounds.gracefulMs);
  await graceful.run(
    ["compose", "-p", bottle.project, "down", "--volumes", "--remove-orphans", "--timeout", "3"],
    { allowFailure: true },
  );
  const deadline = Date.now() + bounds.forcedMs;
  const forced = boundedClient(docker, deadline);
  let left = await listLabelled(forced, bottle.slug);
  while (left === null || left.containers.length + left.networks.length > 0) {
    if (Date.now() >= deadline) break;
    if (left !== null) await removeLabelled(forced, left);
    left = await listLabelled(forced, bottle.slug);
    if (left !== null && left.containers.length + left.networks.length === 0) break;
    await sleep(500);
  }
  if (left === null) {
    throw new BottleError(
      `could not make sure bottle ${bottle.slug} is gone: the engine did not answer within ${seconds(bounds.forcedMs)} s`,
      { hint: `run \`claude-bottle stop ${bottle.slug}\` again once \`docker ps\` answers` },
    );
  }
  const names = [
    ...left.containers.map((c) => `container ${c.name}`),
    ...left.networks.map((n) => `network ${n.name}`),
  ];
  if (names.length > 0) {
    throw new BottleError(
      `bottle ${bottle.slug} is not fully removed; still there: ${names.join(", ")}`,
      {
        hint: `run \`claude-bottle stop ${bottle.slug}\` again; \`docker ps -a --filter label=${BOTTLE_SLUG_LABEL}=${bottle.slug}\` shows what holds on`,
      },
    );
  }
  if (bottle.stateDir !== null) await rm(bottle.stateDir, { recursive: true, force: true });
}

/** `docker rm -f` the containers, then the networks, unplugging whatever else joined them. */
async function removeLabelled(docker: DockerClient, left: LabelledLeft): Promise<void> {
  if (left.containers.length > 0) {
    await docker.run(["rm", "-f", "-v", ...left.containers.map((c) => c.id)], {
      allowFailure: true,
    });
  }
  for (const net of left.networks) {
    const removed = await docker.run(["network", "rm", net.id], { allowFailure: true });
    if (removed.exitCode === 0) continue;
    // A container of no bottle (a stand-in, a debugging shell) joined it: unplug it first.
    const joined = await docker.run(
      ["network", "inspect", "--format", "{{range $id, $c := .Containers}}{{$id}} {{end}}", net.id],
      { allowFailure: true },
    );
    for (const id of joined.stdout.split(" ").filter((s) => s.trim() !== "")) {
      await docker.run(["network", "disconnect", "-f", net.id, id.trim()], { allowFailure: true });
    }
    await docker.run(["network", "rm", net.id], { allowFailure: true });
  }
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}
