// The demo's stand-ins join the bottle's egress network after it is up, under the outside
// world's names. Docker's DNS takes a moment to answer for a container that just joined:
// before a step runs, the sidecars that look those names up must resolve every one of them.
import type { DockerClient } from "../backend/engine/docker-client.js";
import { unresolvedName } from "../backend/engine/wait-for-names.js";
import { BottleError } from "../shared/errors.js";

export async function waitForNames(
  docker: DockerClient,
  container: string,
  names: readonly string[],
  timeoutSeconds = 30,
): Promise<void> {
  const missing = await unresolvedName(docker, container, names, timeoutSeconds);
  if (missing !== null) {
    throw new BottleError(
      `${container} could not resolve the stand-in ${missing} within ${timeoutSeconds} s`,
      { hint: "check that the engine's embedded DNS answers on the bottle's egress network" },
    );
  }
}
