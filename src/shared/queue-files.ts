// File primitives of the supervise queue, shared by the sidecar and the host. Every file a
// reader may see is complete: it is written under a temporary name in the same directory
// and renamed into place (rename is atomic within a directory, also across a bind mount).
// Readers never follow a symlink: the queue is writable from inside a container.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { z } from "zod";
import { isProposalId } from "../contracts/queue-format.js";
import {
  POLICY_SNAPSHOT_FILE,
  QUEUE_ANSWERS_DIR,
  QUEUE_KEYS_DIR,
  QUEUE_PROPOSALS_DIR,
} from "../contracts/supervise.js";

export interface QueuePaths {
  root: string;
  proposals: string;
  answers: string;
  keys: string;
  policy: string;
}

export function queuePaths(queueDir: string): QueuePaths {
  return {
    root: queueDir,
    proposals: join(queueDir, QUEUE_PROPOSALS_DIR),
    answers: join(queueDir, QUEUE_ANSWERS_DIR),
    keys: join(queueDir, QUEUE_KEYS_DIR),
    policy: join(queueDir, POLICY_SNAPSHOT_FILE),
  };
}

export function proposalPath(queueDir: string, id: string): string {
  return join(queuePaths(queueDir).proposals, `${id}.json`);
}

export function answerPath(queueDir: string, id: string): string {
  return join(queuePaths(queueDir).answers, `${id}.json`);
}

export function claimPath(queueDir: string, id: string): string {
  return join(queuePaths(queueDir).answers, `${id}.claim`);
}

/** Creates the queue's subdirectories (0755: the host user and the sidecar's root both read them). */
export async function ensureQueueDirs(queueDir: string): Promise<void> {
  const paths = queuePaths(queueDir);
  await mkdir(paths.proposals, { recursive: true, mode: 0o755 });
  await mkdir(paths.answers, { recursive: true, mode: 0o755 });
  await mkdir(paths.keys, { recursive: true, mode: 0o755 });
}

/**
 * Creates `path` holding `text`, complete, unless it exists: false then, and nothing
 * written. link(2) is atomic and never replaces, so of two filers (threads or processes)
 * racing for one name exactly one wins, and no reader sees a half-written file.
 */
export async function createFileExclusive(path: string, text: string): Promise<boolean> {
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  const handle = await open(temp, "wx", 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

/** Writes `text` to a temporary file beside `path`, flushes it, then renames it into place. */
export async function writeFileAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  const handle = await open(temp, "wx", mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** What a queue or policy file may weigh: these are a few KiB; the agent's side writes some. */
export const MAX_STATE_FILE_BYTES = 16 * 1024 * 1024;

/**
 * The file's text, or null when it does not exist. A symlink is refused, not followed, as is
 * anything but a regular file (a FIFO would block, a device never end); a file over
 * `maxBytes` is refused rather than read into memory.
 */
export async function readTextNoFollow(
  path: string,
  maxBytes = MAX_STATE_FILE_BYTES,
): Promise<string | null> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${path} is not a regular file`);
    if (info.size > maxBytes) throw new Error(`${path} is over ${maxBytes} bytes`);
    // Read to the end, but never past the bound: a file that grows while it is read too.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, maxBytes + 1 - length));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
      if (length > maxBytes) throw new Error(`${path} is over ${maxBytes} bytes`);
    }
    const buffer = Buffer.concat(chunks);
    return buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}

export class QueueFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
    options?: { cause: unknown },
  ) {
    super(`${path}: ${message}`, options);
    this.name = "QueueFileError";
  }
}

/** Parses and validates a queue file; null when it does not exist. */
export async function readQueueFile<S extends z.ZodType>(
  path: string,
  schema: S,
): Promise<z.infer<S> | null> {
  let text: string | null;
  try {
    text = await readTextNoFollow(path);
  } catch (error) {
    throw new QueueFileError(path, `cannot be read (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new QueueFileError(path, "is not JSON", { cause: error });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
    throw new QueueFileError(path, `is not a valid queue file (${where}${issue?.message ?? "?"})`);
  }
  return parsed.data;
}

/** Ids of the proposals in the queue, sorted for stable output. */
export async function listProposalIds(queueDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(queuePaths(queueDir).proposals);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return names
    .filter((n) => n.endsWith(".json"))
    .map((n) => n.slice(0, -".json".length))
    .filter(isProposalId)
    .sort();
}

export function toJsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
