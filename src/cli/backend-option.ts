// `--backend`: which engine a command's bottles run on. One option for every command that
// starts, finds or removes bottles, so they all agree on where to look.
import { Option } from "@commander-js/extra-typings";
import type { Backend } from "../backend/backend.js";
import { BACKEND_NAMES, backendNamed, DEFAULT_BACKEND } from "../backend/backends.js";
import type { LaunchContext } from "../backend/start-plan.js";

export function backendOption() {
  return new Option("--backend <name>", `where bottles run: ${BACKEND_NAMES.join(", ")}`)
    .env("CLAUDE_BOTTLE_BACKEND")
    .default(DEFAULT_BACKEND);
}

export function backendFor(launch: LaunchContext, options: { backend: string }): Backend {
  return backendNamed(options.backend, launch);
}
