import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { onNodeMarkPath, waitUntilOnNode } from "./state-mirror.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cb-mirror-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The mark the mirror writes for a file it pushed: its mtime and size. */
async function markOf(path: string): Promise<string> {
  const s = await stat(path);
  return `${s.mtimeMs}:${s.size}`;
}

describe("waitUntilOnNode", () => {
  it("returns once the mirror's mark names the file's current version", async () => {
    const policy = join(dir, "pipelock.yaml");
    await writeFile(policy, "allow: [a.test]\n");
    await writeFile(onNodeMarkPath(policy), "0:1");
    const waiting = waitUntilOnNode(policy, 5_000);
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(onNodeMarkPath(policy), await markOf(policy));
    expect(await waiting).toBe(true);
  });

  it("says false when no mirror takes the change there in time", async () => {
    const policy = join(dir, "pipelock.yaml");
    await writeFile(policy, "allow: [a.test]\n");
    await writeFile(onNodeMarkPath(policy), await markOf(policy));
    await writeFile(policy, "allow: [a.test, b.test]\n");
    expect(await waitUntilOnNode(policy, 300)).toBe(false);
  });

  it("compares a directory by every file in it", async () => {
    const allow = join(dir, "allow");
    await mkdir(allow);
    await writeFile(join(allow, "gitleaks.txt"), "fp\n");
    const mark = `gitleaks.txt=${await markOf(join(allow, "gitleaks.txt"))}`;
    await writeFile(onNodeMarkPath(allow), mark);
    expect(await waitUntilOnNode(allow, 300)).toBe(true);
    await writeFile(join(allow, "more.txt"), "x\n");
    expect(await waitUntilOnNode(allow, 300)).toBe(false);
  });
});
