// The tests' three-node swarm fixture and its node image (a Docker engine in a container), for the bench to bundle with esbuild (the fixture is
// TypeScript; the benches run on plain Node from dist/).
export { ensureNodeImage } from "../../test/support/swarm/node-image.ts";
export {
  labelNodeEngines,
  removeSwarm,
  startSwarm,
  swarmLeftovers,
} from "../../test/support/swarm/swarm-fixture.ts";
