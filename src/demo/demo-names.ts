// The demo's stand-ins join the bottle's egress network after it is up, under the outside
// world's names. Docker's DNS takes a moment to answer for a container that just joined:
// before a step runs, the sidecars that look those names up must resolve every one of them.
import type { DockerClient } from "../backend/docker/docker-client.js";
import { BottleError } from "../shared/errors.js";

/** Polls `getent hosts` for each name in `container` until all resolve, in ~30 s at most. */
const WAIT_SCRIPT = `deadline=$(( $(date +%s) + $1 )); shift
for name in "$@"; do
  until getent hosts "$name" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "$name"; exit 1; fi
    sleep 0.2
  done
done`;

export async function waitForNames(
  docker: DockerClient,
  container: string,
  names: readonly string[],
  timeoutSeconds = 30,
): Promise<void> {
  const r = await docker.run(
    ["exec", container, "sh", "-c", WAIT_SCRIPT, "sh", String(timeoutSeconds), ...names],
    { allowFailure: true },
  );
  if (r.exitCode !== 0) {
    throw new BottleError(
      `${container} could not resolve the stand-in ${r.stdout.trim() || names.join(", ")} within ${timeoutSeconds} s`,
      { hint: "check that the engine's embedded DNS answers on the bottle's egress network" },
    );
  }
}
