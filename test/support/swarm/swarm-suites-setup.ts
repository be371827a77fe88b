// The vitest globalSetup of the "swarm-suites" project: one three-node swarm fixture for every
// test file the project runs against a swarm bottle (test-backend.ts), started once before
// the first file and removed after the last. Each node is labelled with the address of its
// engine, as an administrator would, so `start --backend swarm` can reach the node it picks.
import type { TestProject } from "vitest/node";
import { engineProblem } from "../docker/engine.js";
import {
  describeTimings,
  labelNodeEngines,
  removeSwarm,
  type SwarmInfo,
  startSwarm,
  swarmInfo,
} from "./swarm-fixture.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The swarm the project's bottles run on. */
    cbSwarm: SwarmInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Without an engine the files skip loudly (describeWithEngine), or fail under CI=true.
  if (engineProblem() !== null) return async () => {};
  const swarm = await startSwarm();
  try {
    await labelNodeEngines(swarm);
  } catch (error) {
    await removeSwarm(swarm.id);
    throw error;
  }
  process.stderr.write(`${describeTimings(swarm.timings)}\n`);
  project.provide("cbSwarm", swarmInfo(swarm));
  return async () => {
    const left = await removeSwarm(swarm.id);
    const names = [...left.containers, ...left.networks, ...left.volumes];
    if (names.length > 0) throw new Error(`the swarm fixture left behind: ${names.join(", ")}`);
  };
}
