// A bottle's metadata as the state directory records it, for tests that only need it to exist.
import type { BottleMetadata } from "../../../src/backend/bottle-state.js";

/** Metadata of bottle "s-1" (agent "a", bottle "b"), with `changes` laid over it. */
export function bottleMetadata(changes: Partial<BottleMetadata> = {}): BottleMetadata {
  return {
    slug: "s-1",
    project: "p",
    agent: "a",
    bottle: "b",
    createdAt: "2030-01-01T00:00:00.000Z",
    pid: 1,
    hostname: "h",
    ...changes,
  };
}
