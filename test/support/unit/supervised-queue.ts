// A supervised bottle on disk with the sidecar's own proposal queue in front of it: what the
// host-side approval code and the `supervise` command read.
import type { SupervisedBottle } from "../../../src/approval/supervised-bottle.js";
import { ProposalQueue } from "../../../src/sidecars/supervise/proposal-queue.js";
import { makeSupervisedBottle } from "../sidecars/supervise-fixture.js";

export interface SupervisedQueue {
  bottle: SupervisedBottle;
  /** The queue as the agent's sidecar writes to it. */
  queue: ProposalQueue;
}

/** Makes a supervised bottle under `home` and opens its proposal queue. */
export async function makeSupervisedQueue(home: string): Promise<SupervisedQueue> {
  const bottle = await makeSupervisedBottle(home);
  return { bottle, queue: new ProposalQueue({ queueDir: bottle.queueDir, slug: bottle.slug }) };
}
