// Removing a bottle from the swarm: its stack, then what the stack leaves (external secrets,
// configs, the node's containers and volumes, networks), each call bounded; and the listing
// that ends every removal by naming what is still there.
import { BOTTLE_SLUG_LABEL } from "../../contracts/agent.js";
import { BottleError } from "../../shared/errors.js";
import type { FoundBottle, RemovalBounds } from "../backend.js";
import { DEFAULT_REMOVAL_BOUNDS } from "../engine/discover-bottles.js";
import { boundedClient, type DockerClient } from "../engine/docker-client.js";
import { type EngineAt, STACK_LABEL, type SwarmAt } from "./swarm-engines.js";

/**
 * The stack, then what the stack leaves: its external secrets, and its volumes on the
 * node once their tasks are gone, each call bounded and in a process group of its own.
 * Never throws: the first error stays the one reported (down names what is left).
 */
export async function removeFromSwarm(
  swarm: SwarmAt,
  bottle: Pick<FoundBottle, "slug" | "project">,
  nodeEngine: EngineAt | null,
  bounds: RemovalBounds = DEFAULT_REMOVAL_BOUNDS,
): Promise<void> {
  swarm.progress(`removing ${bottle.project}…`);
  const label = `label=${BOTTLE_SLUG_LABEL}=${bottle.slug}`;
  const manager = boundedClient(swarm.manager, Date.now() + bounds.gracefulMs);
  const node = nodeEngine && boundedClient(nodeEngine, Date.now() + bounds.gracefulMs);
  await manager.run(["stack", "rm", bottle.project], { allowFailure: true });
  // Tasks stop asynchronously; their containers hold the volumes and the secrets.
  const deadline = Date.now() + bounds.gracefulMs;
  while (Date.now() < deadline) {
    const left =
      node === null
        ? ""
        : (
            await node.run(["ps", "-aq", "--filter", `label=${STACK_LABEL}=${bottle.project}`], {
              allowFailure: true,
            })
          ).stdout.trim();
    const services = (
      await manager.run(["service", "ls", "-q", "--filter", label], { allowFailure: true })
    ).stdout.trim();
    if (left === "" && services === "") break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const forcedAt = Date.now() + bounds.forcedMs;
  const forced = boundedClient(swarm.manager, forcedAt);
  const forcedNode = nodeEngine && boundedClient(nodeEngine, forcedAt);
  // A service the stack did not take (a stack rm that timed out) goes by name.
  const services = (
    await forced.run(["service", "ls", "-q", "--filter", label], { allowFailure: true })
  ).stdout
    .split("\n")
    .filter(Boolean);
  if (services.length > 0) await forced.run(["service", "rm", ...services], { allowFailure: true });
  if (forcedNode !== null) {
    // The keeper holds the volumes; it goes first, with the tasks' containers.
    const held = (
      await forcedNode.run(["ps", "-aq", "--filter", label], { allowFailure: true })
    ).stdout
      .split("\n")
      .filter(Boolean);
    if (held.length > 0) await forcedNode.run(["rm", "-f", ...held], { allowFailure: true });
    const vols = (
      await forcedNode.run(["volume", "ls", "-q", "--filter", label], { allowFailure: true })
    ).stdout
      .split("\n")
      .filter(Boolean);
    if (vols.length > 0) {
      await forcedNode.run(["volume", "rm", "-f", ...vols], { allowFailure: true });
    }
  }
  for (const kind of ["secret", "config"] as const) {
    const ids = (
      await forced.run([kind, "ls", "-q", "--filter", label], { allowFailure: true })
    ).stdout
      .split("\n")
      .filter(Boolean);
    if (ids.length > 0) await forced.run([kind, "rm", ...ids], { allowFailure: true });
  }
  // Networks last, again until they go: a task on its way out still holds them a moment.
  while (Date.now() < forcedAt) {
    const nets = (
      await forced.run(["network", "ls", "-q", "--filter", label], { allowFailure: true })
    ).stdout
      .split("\n")
      .filter(Boolean);
    if (nets.length === 0) break;
    const r = await forced.run(["network", "rm", ...nets], { allowFailure: true });
    if (r.exitCode !== 0) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Ends a removal by listing what carries the bottle's label: anything left is an error. */
export async function assertGoneFromSwarm(
  swarm: SwarmAt,
  slug: string,
  node: EngineAt | null,
  bounds: RemovalBounds,
): Promise<void> {
  const left = await leftOnSwarm(swarm.manager, slug, node, bounds.forcedMs);
  if (left.length > 0) {
    throw new BottleError(
      `bottle ${slug} is not fully removed from the swarm; still there: ${left.join(", ")}`,
      { hint: `run \`claude-bottle stop --backend swarm ${slug}\` again` },
    );
  }
}

/** What carries the bottle's label on the manager and its node, named; or why it is unknown. */
async function leftOnSwarm(
  managerEngine: EngineAt,
  slug: string,
  node: EngineAt | null,
  ms: number,
): Promise<string[]> {
  const label = `label=${BOTTLE_SLUG_LABEL}=${slug}`;
  const manager = boundedClient(managerEngine, Date.now() + ms);
  const ask = async (docker: DockerClient, kind: string, args: string[]): Promise<string[]> => {
    // `docker ps` names its field Names; every other listing here, Name.
    const field = kind === "container" ? "{{.Names}}" : "{{.Name}}";
    const r = await docker.run([...args, "--filter", label, "--format", field], {
      allowFailure: true,
    });
    if (r.exitCode !== 0) return [`(no answer to \`docker ${args.join(" ")}\`)`];
    return r.stdout
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((name) => `${kind} ${name}`);
  };
  const lists = await Promise.all([
    ask(manager, "service", ["service", "ls"]),
    ask(manager, "network", ["network", "ls"]),
    ask(manager, "secret", ["secret", "ls"]),
    ask(manager, "config", ["config", "ls"]),
    ...(node === null
      ? []
      : [
          ask(boundedClient(node, Date.now() + ms), "container", ["ps", "-a"]),
          ask(boundedClient(node, Date.now() + ms), "volume", ["volume", "ls"]),
        ]),
  ]);
  return lists.flat();
}
