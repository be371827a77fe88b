// A stand-in upstream for a bottle on the swarm: what `docker run --network <egress>
// --network-alias <host>` is under Compose. A swarm bottle's egress overlay is not attachable,
// so the stand-in is a service of a stack of its own that names that overlay as external,
// under the hostnames the test serves, pinned to the bottle's node, its files handed over
// as configs (a node does not share this machine's disk) and its image named by ID (a node
// would otherwise try a registry). Everything it makes is labelled so a test can remove it.
import { randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { NODE_IMAGE } from "../../../src/backend/engine/images.js";
import {
  type EngineContainer,
  nodeEngine,
  swarmTaskContainer,
  testSwarm,
} from "../docker/test-backend.js";
import { waitFor } from "../docker/wait-for.js";
import { runDocker } from "./docker-process.js";
import type { SwarmNode } from "./swarm-fixture.js";

const STACK_LABEL = "com.docker.stack.namespace";

export interface SwarmStandIn extends EngineContainer {
  stack: string;
  node: SwarmNode;
}

/**
 * Deploys `node /srv/server.mjs` (files given by their path in the container) on `egressNetwork`
 * under `hostnames`, and on `extraNetworks` (overlays made by the test), on `node`; waits until
 * it listens on `readyPort`.
 */
export async function deploySwarmStandIn(options: StandInOptions): Promise<SwarmStandIn> {
  for (let attempt = 1; ; attempt++) {
    const stack = `cbtest-standin-${randomBytes(3).toString("hex")}`;
    try {
      return await deployStandInStack(options, stack);
    } catch (error) {
      // Engine 26.1's swarm IPAM now and then gives a task on a dual-stack overlay an IPv6
      // address as its IPv4 one and rejects it ("… does not belong to any of this network's
      // subnets"); a new stack gets a new allocation.
      if (attempt >= 3 || !/does not belong to any of this network's subnets/.test(String(error))) {
        throw error;
      }
      const swarm = testSwarm();
      await swarm.docker(["stack", "rm", stack], { allowFailure: true });
      await waitFor(`the rejected stand-in ${stack} to go`, async () =>
        (
          await swarm.docker(["service", "ls", "-q", "--filter", `label=${STACK_LABEL}=${stack}`], {
            allowFailure: true,
          })
        ).stdout.trim() === ""
          ? true
          : null,
      );
    }
  }
}

interface StandInOptions {
  node: SwarmNode;
  egressNetwork: string;
  hostnames: readonly string[];
  files: Record<string, string>;
  labels: Record<string, string>;
  extraNetworks?: readonly string[];
  readyPort: number;
}

async function deployStandInStack(options: StandInOptions, stack: string): Promise<SwarmStandIn> {
  const swarm = testSwarm();
  const image = (await runDocker(["image", "inspect", "-f", "{{.Id}}", NODE_IMAGE])).stdout.trim();
  const extra = options.extraNetworks ?? [];
  const files = Object.entries(options.files);
  const compose = {
    version: "3.9",
    services: {
      upstream: {
        image,
        entrypoint: ["node", "/srv/server.mjs"],
        networks: {
          egress: { aliases: [...options.hostnames] },
          ...Object.fromEntries(extra.map((_, i) => [`extra${i}`, {}])),
        },
        configs: files.map(([target], i) => ({ source: `file${i}`, target })),
        labels: options.labels,
        deploy: {
          endpoint_mode: "dnsrr",
          placement: { constraints: [`node.hostname == ${options.node.container}`] },
          restart_policy: { condition: "none" },
          labels: options.labels,
        },
      },
    },
    networks: {
      egress: { external: true, name: options.egressNetwork },
      ...Object.fromEntries(extra.map((name, i) => [`extra${i}`, { external: true, name }])),
    },
    configs: Object.fromEntries(
      files.map(([, file], i) => [`file${i}`, { file, labels: options.labels }]),
    ),
  };
  await swarm.docker(
    ["stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", "-", stack],
    { input: stringify(compose) },
  );
  const task = await waitFor(
    `the stand-in ${stack} to run`,
    async () => swarmTaskContainer(`${stack}_upstream`),
    90_000,
    250,
  ).catch(async (error) => {
    // What the swarm said of its tasks: a rejected network or config is named there.
    const tasks = await swarm.docker(
      [
        "service",
        "ps",
        "--no-trunc",
        "--format",
        "{{.CurrentState}} {{.Error}}",
        `${stack}_upstream`,
      ],
      { allowFailure: true },
    );
    throw new Error(`${String(error)}\n${tasks.stdout}${tasks.stderr}`);
  });
  await waitFor(`the stand-in ${stack} to listen`, async () => {
    const r = await runDocker(
      [
        "exec",
        task.container,
        "node",
        "-e",
        `require('net').connect(${options.readyPort},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`,
      ],
      { env: task.env, allowFailure: true },
    );
    return r.code === 0 ? true : null;
  });
  return { ...task, node: options.node, stack };
}

/**
 * Removes the stand-in stacks whose services carry `label` (`key=value`), and waits until
 * their containers are gone from every node: one still attached would keep the bottle's
 * network from removal.
 */
export async function removeSwarmStandIns(label: string): Promise<void> {
  const swarm = testSwarm();
  const format = `{{index .Spec.Labels "${STACK_LABEL}"}}`;
  const ids = (
    await swarm.docker(["service", "ls", "-q", "--filter", `label=${label}`], {
      allowFailure: true,
    })
  ).stdout
    .split("\n")
    .filter(Boolean);
  const stacks = new Set<string>();
  for (const id of ids) {
    const r = await swarm.docker(["service", "inspect", "-f", format, id], { allowFailure: true });
    if (r.stdout.trim() !== "") stacks.add(r.stdout.trim());
  }
  for (const stack of stacks) await swarm.docker(["stack", "rm", stack], { allowFailure: true });
  await waitFor(
    "the stand-ins' containers to go",
    async () => {
      for (const node of swarm.nodes) {
        const left = await runDocker(["ps", "-aq", "--filter", `label=${label}`], {
          env: nodeEngine(node),
          allowFailure: true,
        });
        if (left.stdout.trim() !== "") return null;
      }
      const services = await swarm.docker(["service", "ls", "-q", "--filter", `label=${label}`]);
      return services.stdout.trim() === "" ? true : null;
    },
    60_000,
    250,
  );
}
