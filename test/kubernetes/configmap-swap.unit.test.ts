// Does pipelock's policy watcher see a ConfigMap update? kubelet never writes the mounted
// file: it writes a new timestamped directory, points a `..data_tmp` symlink at it, renames
// that over `..data`, and removes the old directory; `pipelock.yaml` stays a symlink to
// `..data/pipelock.yaml` throughout. This replays those steps on the local disk.
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { watchConfigFile } from "../../src/sidecars/pipelock/config-watcher.js";

async function atomicWrite(dir: string, version: string, text: string, old: string | null) {
  const stamp = join(dir, `..${version}`);
  await mkdir(stamp);
  await writeFile(join(stamp, "pipelock.yaml"), text);
  await symlink(`..${version}`, join(dir, "..data_tmp"));
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  if (old !== null) await rm(join(dir, `..${old}`), { recursive: true });
}

describe("a ConfigMap volume's update", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("reaches pipelock's watcher through the ..data symlink swap", async () => {
    dir = await mkdtemp(join(tmpdir(), "cb-cm-"));
    await atomicWrite(dir, "2024_01_01_00_00_00.1", "allow: []\n", null);
    await symlink("..data/pipelock.yaml", join(dir, "pipelock.yaml"));
    let changes = 0;
    const watcher = watchConfigFile(join(dir, "pipelock.yaml"), () => changes++, 20);
    try {
      await atomicWrite(dir, "2024_01_01_00_01_00.2", "allow: [a.test]\n", "2024_01_01_00_00_00.1");
      await expect.poll(() => changes, { timeout: 2000 }).toBeGreaterThan(0);
      // Re-armed on the new file: a second update is seen too.
      const before = changes;
      await atomicWrite(dir, "2024_01_01_00_02_00.3", "allow: [b.test]\n", "2024_01_01_00_01_00.2");
      await expect.poll(() => changes, { timeout: 2000 }).toBeGreaterThan(before);
    } finally {
      watcher.close();
    }
  });
});
