// A lock file held while one claude-bottle process decides a bottle's proposals: the audit
// chain and pipelock's policy are read, changed and written back, and two processes doing
// that at once would fork the chain or lose an allowlist entry. Exclusive create is the
// lock; a lock whose holder is gone (older than `staleMs`) is broken.

import { mkdir, open, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BottleError } from "../shared/errors.js";

export interface LockOptions {
  timeoutMs?: number;
  staleMs?: number;
}

export async function withFileLock<T>(
  lockPath: string,
  body: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const staleMs = options.staleMs ?? 60_000;
  await mkdir(dirname(lockPath), { recursive: true, mode: 0o700 });
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(lockPath, "wx", 0o600);
      await handle.writeFile(`${process.pid}@${hostname()}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const age = await ageOf(lockPath);
    if (age !== null && age > staleMs) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new BottleError(`another claude-bottle is deciding proposals (lock ${lockPath})`, {
        hint: "wait for it to finish; if none is running, remove the lock file",
      });
    }
    await sleep(50);
  }
  try {
    return await body();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function ageOf(path: string): Promise<number | null> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return null;
  }
}
