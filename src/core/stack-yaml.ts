// A Swarm stack as the file `docker stack deploy -c -` reads: the stack's name is the
// command's argument, not a key, and "$" is doubled as for Compose (the CLI interpolates).
import { stringify } from "yaml";
import { escapeInterpolation } from "./compose-yaml.js";
import type { SwarmStack } from "./swarm-stack.js";

export function renderStackYaml(stack: SwarmStack): string {
  const { name: _name, ...file } = stack;
  return stringify(escapeInterpolation({ version: "3.9", ...file }), {
    lineWidth: 0,
    aliasDuplicateObjects: false,
  });
}
