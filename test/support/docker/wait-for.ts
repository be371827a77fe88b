// Polling for what an engine test waits on (a container's state, a file inside it, a
// process's answer): twice a second (or every `intervalMs`) until the probe has a value, or
// fail naming what never came.
import { setTimeout as sleep } from "node:timers/promises";

/** Resolves with the probe's first non-null value; rejects after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null>,
  timeoutMs = 120_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== null) return value;
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}
