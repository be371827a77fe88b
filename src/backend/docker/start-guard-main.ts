// Entry point of the start guard (see start-guard.ts): one JSON argument naming the CLI
// pid, the slug, the Compose project and the state directory. Prints nothing; never throws.
import { type GuardTarget, guardStart } from "./start-guard.js";

try {
  const target = JSON.parse(process.argv[2] ?? "") as GuardTarget;
  await guardStart(target);
} catch {
  process.exitCode = 1;
}
