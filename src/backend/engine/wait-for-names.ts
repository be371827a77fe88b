// Waiting until a container resolves names through the engine's DNS, which answers for a
// container or task a moment after it runs: the swarm's agent for its sidecars, the demo's
// sidecars for its stand-ins.
import { type DockerClient, DockerError } from "./docker-client.js";

/** "$1" seconds, then the names: prints the first name not resolved in time and fails. */
const WAIT_FOR_NAMES_SCRIPT = `end=$(($(date +%s) + $1)); shift; for n in "$@"; do until getent hosts "$n" >/dev/null; do [ "$(date +%s)" -ge "$end" ] && { echo "$n"; exit 1; }; sleep 0.5; done; done`;

/**
 * Polls `getent hosts` in `container` until every name resolves; the first name that did not
 * within `timeoutSeconds`, or null when all did. Throws a DockerError when the exec itself
 * failed (the script always names what it did not resolve): that is no name, and no wait.
 */
export async function unresolvedName(
  docker: DockerClient,
  container: string,
  names: readonly string[],
  timeoutSeconds: number,
): Promise<string | null> {
  if (names.length === 0) return null;
  for (const n of names) {
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(n)) throw new Error(`not a host name: ${n}`);
  }
  // The timeout and the names reach the script as "$1" and "$@", never as its text.
  const r = await docker.run(
    ["exec", container, "sh", "-c", WAIT_FOR_NAMES_SCRIPT, "sh", String(timeoutSeconds), ...names],
    { allowFailure: true },
  );
  if (r.exitCode === 0) return null;
  const missing = r.stdout.trim();
  if (missing === "")
    throw new DockerError(`docker exec ${container} (getent hosts)`, r.exitCode, r.stderr);
  return missing;
}
