// The engines, by the name `--backend` takes, and what each can do. Every engine renders
// (`render`: what it would deploy); the ones that run bottles on this machine's engines are
// Backends as well. A command asks for the capability it needs, and one the engine lacks is
// refused with what to do instead.
import { didYouMean } from "../shared/did-you-mean.js";
import { InputError } from "../shared/errors.js";
import type { Backend, Renderer } from "./backend.js";
import { ComposeBackend } from "./compose/compose-backend.js";
import { KubernetesRenderer } from "./kubernetes/kubernetes-renderer.js";
import type { LaunchContext } from "./start-plan.js";
import { SwarmBackend } from "./swarm/swarm-backend.js";

type Engine =
  | { runs: true; make: (ctx: LaunchContext) => Backend }
  | { runs: false; make: (ctx: LaunchContext) => Renderer };

const ENGINES: Record<string, Engine> = {
  compose: { runs: true, make: (ctx) => new ComposeBackend(ctx) },
  swarm: { runs: true, make: (ctx) => new SwarmBackend(ctx) },
  kubernetes: { runs: false, make: () => new KubernetesRenderer() },
};

/** The engines that run bottles: what start, list, info, stop, resume and dashboard take. */
export const BACKEND_NAMES: readonly string[] = Object.keys(ENGINES).filter(
  (name) => ENGINES[name]?.runs,
);
/** Every engine: what `render` takes. */
export const RENDERER_NAMES: readonly string[] = Object.keys(ENGINES);
export const DEFAULT_BACKEND = "compose";

export function backendNamed(name: string, ctx: LaunchContext): Backend {
  const engine = engineNamed(
    name,
    `use one of: ${BACKEND_NAMES.join(", ")} (--backend or CLAUDE_BOTTLE_BACKEND)`,
  );
  if (!engine.runs) {
    throw new InputError(`the ${name} backend only renders; it does not run bottles here`, {
      hint: `write its files with \`claude-bottle render --backend ${name} <agent>\`; run bottles with one of: ${BACKEND_NAMES.join(", ")}`,
    });
  }
  return engine.make(ctx);
}

export function rendererNamed(name: string, ctx: LaunchContext): Renderer {
  return engineNamed(name, `render one of: ${RENDERER_NAMES.join(", ")}`).make(ctx);
}

function engineNamed(name: string, hint: string): Engine {
  const engine = Object.hasOwn(ENGINES, name) ? ENGINES[name] : undefined;
  if (engine === undefined) {
    throw new InputError(`unknown backend "${name}"${didYouMean(name, RENDERER_NAMES)}`, {
      hint,
    });
  }
  return engine;
}
