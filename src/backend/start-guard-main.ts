// Entry point of the start guard (see engine/start-guard.ts): one JSON argument naming the CLI
// pid, the slug, the Compose project, the state directory and, for a swarm bottle, the
// backend and the home (the manager's address comes in the environment). Prints nothing; never throws.
import { type GuardTarget, guardStart } from "./engine/start-guard.js";
import { removeLeftStack } from "./swarm/swarm-guard.js";

try {
  const target = JSON.parse(process.argv[2] ?? "") as GuardTarget;
  await guardStart(target, target.backend === "swarm" ? { removeLeft: removeLeftStack } : {});
} catch {
  process.exitCode = 1;
}
