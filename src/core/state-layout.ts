// Where a bottle's state lives under the claude-bottle home: the layout the planner, the
// launcher and the host side of supervision agree on. Pure: names paths, touches nothing.
import { join } from "node:path";

export const METADATA_FILE = "bottle.json";

export function stateRootOf(home: string): string {
  return join(home, "state");
}
