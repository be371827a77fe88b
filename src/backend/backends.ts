// The engines a bottle can run on, by the name `--backend` takes.
import { didYouMean } from "../shared/did-you-mean.js";
import { InputError } from "../shared/errors.js";
import type { Backend } from "./backend.js";
import { ComposeBackend } from "./compose/compose-backend.js";
import type { LaunchContext } from "./start-plan.js";
import { SwarmBackend } from "./swarm/swarm-backend.js";

const BACKENDS: Record<string, (ctx: LaunchContext) => Backend> = {
  compose: (ctx) => new ComposeBackend(ctx),
  swarm: (ctx) => new SwarmBackend(ctx),
};

export const BACKEND_NAMES: readonly string[] = Object.keys(BACKENDS);
export const DEFAULT_BACKEND = "compose";

export function backendNamed(name: string, ctx: LaunchContext): Backend {
  const make = BACKENDS[name];
  if (make === undefined) {
    throw new InputError(`unknown backend "${name}"${didYouMean(name, BACKEND_NAMES)}`, {
      hint: `use one of: ${BACKEND_NAMES.join(", ")} (--backend or CLAUDE_BOTTLE_BACKEND)`,
    });
  }
  return make(ctx);
}
