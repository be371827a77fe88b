// What Compose and Swarm render: the one YAML file each deploys, as `start --dry-run` shows
// it and `render` prints or writes it.
import { parse } from "yaml";
import type { RenderedFile, Rendering } from "./backend.js";
import type { StartPlan } from "./start-plan.js";

/** The files, their YAML as JSON, and a warning when the start would fail for host variables. */
export function yamlRendering(plan: StartPlan, files: RenderedFile[]): Rendering {
  const { missingEnv } = plan;
  return {
    files,
    json: () => {
      const docs = files.map((f) => parse(f.text) as unknown);
      return docs.length === 1 ? docs[0] : docs;
    },
    notes: () =>
      missingEnv.length > 0
        ? [`warning: not set on this host, start would fail: ${missingEnv.join(", ")}`]
        : [],
  };
}
