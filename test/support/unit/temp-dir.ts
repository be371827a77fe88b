// Scratch directories for tests, removed by construction: a test file asks for one and never
// writes its own mkdtemp/rm pair.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";

/** A fresh directory under the system temp dir for each test of the calling file; call the
 * returned function inside a test for its path. */
export function tempDirPerTest(prefix: string): () => string {
  return scratchDir(prefix, beforeEach, afterEach);
}

/** One directory under the system temp dir shared by every test of the calling file. */
export function tempDirPerFile(prefix: string): () => string {
  return scratchDir(prefix, beforeAll, afterAll);
}

function scratchDir(
  prefix: string,
  before: (fn: () => Promise<void>) => void,
  after: (fn: () => Promise<void>) => void,
): () => string {
  let path: string | undefined;
  before(async () => {
    path = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    if (path !== undefined) await rm(path, { recursive: true, force: true });
    path = undefined;
  });
  return () => {
    if (path === undefined) throw new Error("the scratch directory exists only while a test runs");
    return path;
  };
}
