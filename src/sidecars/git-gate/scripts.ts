// Where the gate's shell scripts are on the host, for prepare to stage them: beside this
// module, so src/sidecars/git-gate/ when run from source and dist/sidecars/git-gate/
// once built (the build must copy them there: tsc emits only JavaScript).
import { fileURLToPath } from "node:url";
import { GIT_GATE_SCRIPTS } from "../../contracts/git-gate.js";

export type GitGateScript = keyof typeof GIT_GATE_SCRIPTS;

export function gitGateScriptSource(script: GitGateScript): string {
  return fileURLToPath(new URL(GIT_GATE_SCRIPTS[script], import.meta.url));
}
