// The edge around the pure renderer: reads the one host fact it needs and serialises the
// spec to YAML with a real YAML library.
import { statSync } from "node:fs";
import { stringify } from "yaml";
import type { DockerBottlePlan } from "./bottle-plan.js";
import type { ComposeFacts, ComposeSpec } from "./compose.js";

export function readComposeFacts(plan: DockerBottlePlan): ComposeFacts {
  if (plan.envFile === null) return { envFileNonEmpty: false };
  try {
    const st = statSync(plan.envFile);
    return { envFileNonEmpty: st.isFile() && st.size > 0 };
  } catch {
    return { envFileNonEmpty: false };
  }
}

/** Deterministic: key order is the spec's insertion order, no line folding. */
export function renderComposeYaml(spec: ComposeSpec): string {
  return stringify(spec, { lineWidth: 0, aliasDuplicateObjects: false });
}
