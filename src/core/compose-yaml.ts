// The spec serialised to YAML with a real YAML library, every value as written: the host
// facts the renderer needs are read at the edge (backend/compose-facts.ts).
import { stringify } from "yaml";
import type { ComposeSpec } from "./compose.js";

/**
 * Deterministic: key order is the spec's insertion order, no line folding. Every "$" is
 * doubled because Compose interpolates "$NAME" in every value of the file: a plan's paths
 * and literals must reach the container as written, never expanded from the environment.
 */
export function renderComposeYaml(spec: ComposeSpec): string {
  return stringify(escapeInterpolation(spec), { lineWidth: 0, aliasDuplicateObjects: false });
}

export function escapeInterpolation(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll("$", "$$$$");
  if (Array.isArray(value)) return value.map(escapeInterpolation);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeInterpolation(v)]));
  }
  return value;
}
