// Finds every bottle on this machine from what the engine and the disk say: containers
// and networks carrying the slug label, and state directories. Works after the CLI was
// killed, after the engine restarted, and with the state directory gone.

import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { BOTTLE_HOME_LABEL, BOTTLE_SLUG_LABEL, composeProjectName } from "../../contracts/agent.js";
import { stateRootOf } from "../../core/state-layout.js";
import {
  type BottleMetadata,
  isProcessAlive,
  listStateDirs,
  ranBy,
  readMetadata,
} from "./bottle-state.js";
import type { DockerClient } from "./docker-client.js";

export interface BottleContainer {
  name: string;
  service: string;
  /** Docker's state word: running, exited, created, … */
  state: string;
  status: string;
}

export interface FoundBottle {
  slug: string;
  project: string;
  containers: BottleContainer[];
  networks: string[];
  stateDir: string | null;
  metadata: BottleMetadata | null;
  /** Its CLI process is still running on this host. */
  attached: boolean;
}

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

export async function discoverBottles(docker: DockerClient, home: string): Promise<FoundBottle[]> {
  // Only this home's bottles: another home (another user's, a test's) is not ours to remove.
  const mine = [
    "--filter",
    `label=${BOTTLE_SLUG_LABEL}`,
    "--filter",
    `label=${BOTTLE_HOME_LABEL}=${home}`,
  ];
  const [ps, nets] = await Promise.all([
    docker.run(["ps", "-a", ...mine, "--format", CONTAINER_FORMAT]),
    docker.run(["network", "ls", ...mine, "--format", NETWORK_FORMAT]),
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

/**
 * Removes everything of one bottle: the Compose project, any stray container or network,
 * its state. Found by slug: slugs carry random suffixes, so they do not collide across homes.
 */
export async function removeBottle(
  docker: DockerClient,
  bottle: Pick<FoundBottle, "slug" | "project" | "stateDir">,
): Promise<void> {
  await docker.run(
    ["compose", "-p", bottle.project, "down", "--volumes", "--remove-orphans", "--timeout", "3"],
    {
      allowFailure: true,
    },
  );
  const label = `label=${BOTTLE_SLUG_LABEL}=${bottle.slug}`;
  const left = await docker.run(["ps", "-aq", "--filter", label]);
  const ids = left.stdout.split("\n").filter(Boolean);
  if (ids.length > 0) await docker.run(["rm", "-f", "-v", ...ids]);
  const nets = await docker.run(["network", "ls", "-q", "--filter", label]);
  const netIds = nets.stdout.split("\n").filter(Boolean);
  if (netIds.length > 0) await docker.run(["network", "rm", ...netIds]);
  if (bottle.stateDir !== null) await rm(bottle.stateDir, { recursive: true, force: true });
}
