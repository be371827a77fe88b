// One found bottle as `list`, `info`, `cleanup` and the dashboard show it: its containers'
// states folded into one word, and what its state directory says.
import type { FoundBottle } from "./backend.js";

/** What `list --json` prints per bottle. */
export function bottleSummary(b: FoundBottle) {
  const states = new Set(b.containers.map((c) => c.state));
  const state =
    b.containers.length === 0
      ? "no containers"
      : states.size === 1 && states.has("running")
        ? "running"
        : [...states].sort().join("+");
  return {
    slug: b.slug,
    project: b.project,
    agent: b.metadata?.agent ?? null,
    bottle: b.metadata?.bottle ?? null,
    state,
    services: b.containers.map((c) => c.service).sort(),
    networks: b.networks,
    stateDir: b.stateDir,
    attached: b.attached,
    createdAt: b.metadata?.createdAt ?? null,
  };
}
