// The edge around the pure renderer: reads the host facts it needs and serialises the
// spec to YAML with a real YAML library.
import { statSync } from "node:fs";
import { stringify } from "yaml";
import type { DockerBottlePlan } from "../../core/bottle-plan.js";
import {
  type ComposeFacts,
  type ComposeSpec,
  type SidecarUser,
  sidecarUserFor,
} from "../../core/compose.js";

/** The CLI's own uid and gid (the owner of every file prepare stages). */
export function hostUser(): SidecarUser {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

export function readComposeFacts(
  plan: DockerBottlePlan,
  host: SidecarUser = hostUser(),
): ComposeFacts {
  return { envFileNonEmpty: envFileNonEmpty(plan), sidecarUser: sidecarUserFor(host) };
}

function envFileNonEmpty(plan: DockerBottlePlan): boolean {
  if (plan.envFile === null) return false;
  try {
    const st = statSync(plan.envFile);
    return st.isFile() && st.size > 0;
  } catch {
    return false;
  }
}

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
