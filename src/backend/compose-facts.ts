// The host facts the pure renderer needs (src/core/compose.ts): who the CLI runs as, and
// whether the bottle's env file has anything in it.
import { statSync } from "node:fs";
import type { DockerBottlePlan } from "../core/bottle-plan.js";
import { type ComposeFacts, type SidecarUser, sidecarUserFor } from "../core/compose.js";

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
