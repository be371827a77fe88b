// A bottle's metadata in its state directory, and the state directories on disk. The
// metadata names the CLI process that owns the bottle, so cleanup can tell a live bottle
// from one whose CLI was killed.
import { readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { METADATA_FILE, stateRootOf } from "../core/state-layout.js";
import type { Workspace } from "./engine/workspace.js";

export interface BottleMetadata {
  slug: string;
  project: string;
  agent: string;
  bottle: string;
  createdAt: string;
  /** The CLI process attached to the bottle. */
  pid: number;
  hostname: string;
  /** The repository copied into the agent's ~/work, whose changes are kept at the end. */
  workspace?: Workspace | null;
  /**
   * "starting" until the agent is attached (the start guard removes a bottle still starting
   * when its CLI dies), then "running"; "stopping" once a command is keeping its work and
   * removing it; "stopped" once it is down with its state kept.
   */
  phase?: "starting" | "running" | "stopping" | "stopped";
  /** Started with `start --detach`: left running on purpose; only `cleanup --all` removes it. */
  detached?: boolean;
  /** While stopping: the command that removes it (`stop`, `cleanup`, the exit of start), and its pid. */
  stoppingBy?: { command: string; pid: number };
  /** The backend that runs it (absent: compose, which wrote no such field). */
  backend?: string;
  /** Where its agent runs, for a backend with more than one machine (a swarm node). */
  node?: string;
  /** Each route token's name inside egress → the host variable the manifest names (no value). */
  tokenNames?: Record<string, string>;
}

/** The backend that runs a bottle whose state says `metadata`. */
export function backendNameOf(metadata: BottleMetadata | null): string {
  return metadata?.backend ?? "compose";
}

/** Whether a bottle whose state says `metadata` belongs to the backend named `backend`. */
export function ranBy(metadata: BottleMetadata | null, backend: string): boolean {
  return backendNameOf(metadata) === backend;
}

/** Written whole and renamed into place: the start guard reads it while it changes. */
export async function writeMetadata(stateDir: string, metadata: BottleMetadata): Promise<void> {
  const path = join(stateDir, METADATA_FILE);
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600 });
  await rename(partial, path);
}

/** Changes some fields of a bottle's metadata; a no-op when there is none. */
export async function updateMetadata(
  stateDir: string,
  changes: Partial<BottleMetadata>,
): Promise<void> {
  const current = await readMetadata(stateDir);
  if (current !== null) await writeMetadata(stateDir, { ...current, ...changes });
}

export async function readMetadata(stateDir: string): Promise<BottleMetadata | null> {
  try {
    return JSON.parse(await readFile(join(stateDir, METADATA_FILE), "utf8")) as BottleMetadata;
  } catch {
    return null;
  }
}

/** Slugs of every state directory under the home. */
export async function listStateDirs(home: string): Promise<string[]> {
  try {
    const entries = await readdir(stateRootOf(home), { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** True when the process exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
