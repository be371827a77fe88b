// Which repository a command runs in, so that `start` finds the repository's agents from
// any of its subdirectories. Walks up only to the nearest directory holding ".git": never
// past it into an enclosing repository, never to a directory the user did not start in.
import { dirname, join, resolve } from "node:path";
import { pathExists } from "../shared/path-exists.js";

/**
 * The nearest directory at or above `cwd` that holds ".git" (a directory, or the file a
 * worktree or submodule has); `cwd` itself when no directory above it does.
 */
export async function findRepoRoot(cwd: string): Promise<string> {
  const start = resolve(cwd);
  for (let dir = start; ; dir = dirname(dir)) {
    if (await pathExists(join(dir, ".git"))) return dir;
    if (dirname(dir) === dir) return start;
  }
}
