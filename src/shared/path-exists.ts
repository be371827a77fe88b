// Whether something is at a path, without following it: a link, even a dangling one, counts,
// so a caller about to create the path never writes through a link it took for nothing.
import { lstat } from "node:fs/promises";

export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
