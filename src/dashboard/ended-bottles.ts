// Bottles that ended, and how: one small JSON record per bottle under the home's ended/
// directory, written by whatever ends it (its attached CLI when the agent's program exits,
// `stop`, `cleanup`, the dashboard's stop button) and read by the dashboard, which shows the
// last day's. A record holds no secret: the slug, names from the manifest, how it ended, and
// where its work was kept. Writing one never fails the end of a bottle.
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { BottleMetadata } from "../backend/bottle-state.js";
import type { KeptWork } from "../backend/kept-work.js";
import { readTextNoFollow, writeFileAtomic } from "../shared/queue-files.js";

/** How a bottle ended: its program exited (with a code), a command stopped it, or it was removed. */
export type EndedHow = "exited" | "stopped" | "removed";

export interface EndedBottle {
  slug: string;
  /** The agent and bottle manifests' names, when known. */
  agent: string | null;
  bottle: string | null;
  startedAt: string | null;
  endedAt: string;
  how: EndedHow;
  /** The agent program's exit code, for `exited`. */
  exitCode: number | null;
  /** The command that ended it: start, resume, stop, cleanup, dashboard. */
  by: string;
  /** Where its work was kept, in words (`branches claude-bottle/<slug>/… in /src/app`), or null. */
  work: string | null;
}

export const ENDED_DIR = "ended";
/** How far back the dashboard looks (ms). */
export const ENDED_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Records older than this are deleted when a new one is written (ms). */
const KEEP_RECORDS_MS = 7 * ENDED_WINDOW_MS;
const MAX_RECORD_BYTES = 16 * 1024;
/** At most this many records are read: a home with more shows the newest of these. */
const MAX_RECORDS = 500;
const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function endedDirOf(home: string): string {
  return join(home, ENDED_DIR);
}

/**
 * Records that bottle `record.slug` ended (replacing an earlier record of it: the last word
 * wins), and deletes week-old records. Never throws: a bottle's end must not fail for it;
 * what went wrong is returned, for the caller to warn about.
 */
export async function recordEnded(
  home: string,
  record: Omit<EndedBottle, "endedAt"> & { endedAt?: string },
  now: () => Date = () => new Date(),
): Promise<string | null> {
  if (!SLUG.test(record.slug)) return `not recording the end of "${record.slug}": not a slug`;
  const full: EndedBottle = { ...record, endedAt: record.endedAt ?? now().toISOString() };
  try {
    const dir = endedDirOf(home);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, `${record.slug}.json`), `${JSON.stringify(full)}\n`, 0o600);
    for (const old of await readEndedRecords(home)) {
      if (now().getTime() - Date.parse(old.endedAt) > KEEP_RECORDS_MS) {
        await rm(join(dir, `${old.slug}.json`), { force: true });
      }
    }
    return null;
  } catch (error) {
    return `could not record the end of ${record.slug}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

const textOrNull = (v: unknown, max = 512): string | null =>
  typeof v === "string" ? v.slice(0, max) : null;

/** A record read back, or null when the file is not one (a hand edit, a partial write). */
export function parseEndedRecord(text: string, slug: string): EndedBottle | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  const r = value as Record<string, unknown>;
  if (r.slug !== slug) return null;
  if (r.how !== "exited" && r.how !== "stopped" && r.how !== "removed") return null;
  if (typeof r.endedAt !== "string" || Number.isNaN(Date.parse(r.endedAt))) return null;
  return {
    slug,
    agent: textOrNull(r.agent, 128),
    bottle: textOrNull(r.bottle, 128),
    startedAt: textOrNull(r.startedAt, 64),
    endedAt: r.endedAt,
    how: r.how,
    exitCode: Number.isInteger(r.exitCode) ? (r.exitCode as number) : null,
    by: textOrNull(r.by, 64) ?? "?",
    work: textOrNull(r.work, 1024),
  };
}

async function readEndedRecords(home: string): Promise<EndedBottle[]> {
  let names: string[];
  try {
    names = await readdir(endedDirOf(home));
  } catch {
    return [];
  }
  const slugs = names
    .filter((n) => n.endsWith(".json"))
    .map((n) => n.slice(0, -".json".length))
    .filter((s) => SLUG.test(s))
    .slice(0, MAX_RECORDS);
  const records = await Promise.all(
    slugs.map(async (slug) => {
      const text = await readTextNoFollow(
        join(endedDirOf(home), `${slug}.json`),
        MAX_RECORD_BYTES,
      ).catch(() => null);
      return text === null ? null : parseEndedRecord(text, slug);
    }),
  );
  return records.filter((r) => r !== null);
}

/** The bottles that ended within `windowMs` before `now`, newest first. */
export async function readEnded(
  home: string,
  now: Date,
  windowMs = ENDED_WINDOW_MS,
): Promise<EndedBottle[]> {
  return (await readEndedRecords(home))
    .filter((r) => now.getTime() - Date.parse(r.endedAt) <= windowMs)
    .sort((a, b) => Date.parse(b.endedAt) - Date.parse(a.endedAt));
}

/** How it ended, in words: "exited with code 0", "stopped by stop", "removed by cleanup". */
export function outcomeWords(r: Pick<EndedBottle, "how" | "exitCode" | "by">): string {
  if (r.how === "exited") {
    return r.exitCode === null
      ? "its program exited"
      : `its program exited with code ${r.exitCode}`;
  }
  return `${r.how} by ${r.by}`;
}

/** Where the work was kept, in words, from what the end kept; null when nothing was. */
export function keptWorkWords(
  slug: string,
  kept: Pick<KeptWork, "repoDir" | "dir" | "branches" | "patch" | "workCopy"> | null,
): string | null {
  if (kept === null) return null;
  const parts: string[] = [];
  if (kept.branches.length > 0 && kept.repoDir !== null) {
    parts.push(`branches claude-bottle/${slug}/… in ${kept.repoDir}`);
  }
  if (kept.patch !== null) parts.push(`a patch in ${kept.patch}`);
  if (kept.workCopy !== null) parts.push(`a copy of its ~/work in ${kept.workCopy}`);
  return parts.length === 0 ? null : parts.join("; ");
}

/**
 * The one call the code that ends a bottle makes once it is removed: records how it ended
 * (its program's exit code when that is what ended it; otherwise stopped, or removed by
 * cleanup), what it was, and where its work was kept. Never throws; returns a warning or null.
 */
export function recordBottleEnd(
  home: string,
  end: {
    slug: string;
    /** The command that ended it: start, resume, stop, cleanup, dashboard. */
    command: string;
    exitCode?: number | null;
    metadata?: Pick<BottleMetadata, "agent" | "bottle" | "createdAt"> | null;
    kept?: Pick<KeptWork, "repoDir" | "dir" | "branches" | "patch" | "workCopy"> | null;
  },
  now: () => Date = () => new Date(),
): Promise<string | null> {
  const exitCode = end.exitCode ?? null;
  return recordEnded(
    home,
    {
      slug: end.slug,
      agent: end.metadata?.agent ?? null,
      bottle: end.metadata?.bottle ?? null,
      startedAt: end.metadata?.createdAt ?? null,
      how: exitCode !== null ? "exited" : end.command === "cleanup" ? "removed" : "stopped",
      exitCode,
      by: end.command,
      work: keptWorkWords(end.slug, end.kept ?? null),
    },
    now,
  );
}
