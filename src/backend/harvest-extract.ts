// Writes what an agent hands back (a tar stream it wrote, so the attacker's bytes) into a
// fresh directory on the host. It never follows a link: it creates the directory itself,
// exclusively, and every file in it with O_EXCL|O_NOFOLLOW, so nothing that existed before
// is ever written through. It accepts only regular files and directories with safe names,
// counts bytes as they arrive and stops at the bound, and on failure removes only what it
// created in this run, one path at a time, never recursively.
import { constants } from "node:fs";
import { mkdir, open, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import {
  readTar,
  type TarEntryHeader,
  TarFormatError,
  type TarSink,
} from "../shared/tar-reader.js";

/** Why a harvest stopped before the archive's end; what it created is already removed. */
export class HarvestRefused extends Error {
  constructor(
    message: string,
    readonly reason: "bound" | "format" | "exists" | "io",
  ) {
    super(message);
    this.name = "HarvestRefused";
  }
}

export interface ExtractOptions {
  /** Created here and must not exist; its parent must. */
  dir: string;
  /** Bytes of archive read at the most (headers and padding count). */
  maxBytes: number;
  /** Entries at the most. */
  maxEntries?: number;
  /** Where an archive name lands below `dir` (components), or null to pass it over unread. */
  place(name: string): string[] | null;
}

export interface ExtractResult {
  /** The files written, relative to `dir`, in archive order. */
  files: string[];
  /** The directories made below `dir`, in the order they were made. */
  dirs: string[];
  /** Archive bytes read. */
  bytes: number;
  /** Entries passed over, and why (names as the archive spells them: hostile text). */
  skipped: Array<{ name: string; why: string }>;
}

const MAX_NAME_BYTES = 255;

/**
 * Why a path component is not one the host writes, or null when it is safe: nothing that
 * moves in the tree (".", ".."), nothing a terminal or a shell reads as more than text
 * (controls, bidi and other invisible format characters), nothing git or tar mangle.
 */
export function unsafeComponent(part: string): string | null {
  if (part === "" || part === "." || part === "..") return `"${part}" is not a name`;
  if (Buffer.byteLength(part) > MAX_NAME_BYTES) return "a name longer than 255 bytes";
  // C0, DEL, C1; format characters (bidi marks, overrides and isolates, zero-width ones);
  // line and paragraph separators; U+FFFD, which stands for bytes that were not UTF-8.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f\p{Cf}\u2028\u2029\ufffd]/u.test(part)) {
    return "a name with control, invisible or non-UTF-8 characters";
  }
  if (part.includes("\\")) return "a name with a backslash";
  return null;
}

/** Reads the archive in `source` into a new `options.dir`. */
export async function extractHarvest(
  source: AsyncIterable<Buffer>,
  options: ExtractOptions,
): Promise<ExtractResult> {
  try {
    await mkdir(options.dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new HarvestRefused(`${options.dir} already exists`, "exists");
    }
    throw new HarvestRefused(`cannot create ${options.dir}: ${describe(error)}`, "io");
  }
  const extraction = new Extraction(options);
  try {
    await readTar(counted(source, options.maxBytes, extraction.result), {
      entry: (e) => extraction.entry(e),
    });
  } catch (error) {
    await extraction.undo();
    if (error instanceof HarvestRefused) throw error;
    if (error instanceof TarFormatError) throw new HarvestRefused(error.message, "format");
    throw new HarvestRefused(describe(error), "io");
  }
  return extraction.result;
}

/** One archive read into `options.dir`: what it wrote, and how to undo exactly that. */
class Extraction {
  readonly result: ExtractResult = { files: [], dirs: [], bytes: 0, skipped: [] };
  /** Everything this run made, in order: undone in reverse, one by one. */
  readonly #made: Array<{ path: string; dir: boolean }> = [];
  readonly #dirs = new Set<string>([""]);
  readonly #files = new Set<string>();
  readonly #maxEntries: number;
  #entries = 0;

  constructor(private readonly options: ExtractOptions) {
    this.#maxEntries = options.maxEntries ?? 200_000;
  }

  /** The sink for a file entry's bytes, or null: a directory made, or an entry skipped. */
  async entry(e: TarEntryHeader): Promise<TarSink | null> {
    this.#entries += 1;
    if (this.#entries > this.#maxEntries) {
      throw new HarvestRefused(`more than ${this.#maxEntries} entries`, "bound");
    }
    const skip = (why: string) => {
      this.result.skipped.push({ name: e.name, why });
      return null;
    };
    const parts = this.#placed(e.name);
    if (typeof parts === "string") return skip(parts);
    if (e.type === "5") {
      return (await this.#ensureDir(parts)) ? null : skip("a directory where a file is");
    }
    if (e.type !== "0" && e.type !== "\0" && e.type !== "7") return skip(kindOf(e.type));
    if (parts.length === 0) return skip("a file in place of the top directory");
    const rel = parts.join("/");
    if (this.#dirs.has(rel) || this.#files.has(rel)) return skip("a name that appears twice");
    if (!(await this.#ensureDir(parts.slice(0, -1)))) return skip("a file below a file");
    const path = join(this.options.dir, ...parts);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const out = await open(path, flags, (e.mode & 0o100) !== 0 ? 0o755 : 0o644);
    this.#made.push({ path, dir: false });
    this.#files.add(rel);
    this.result.files.push(rel);
    return {
      write: async (chunk) => {
        await out.write(chunk);
      },
      close: () => out.close(),
    };
  }

  /** Removes what this run made, newest first, and the directory it created. */
  async undo(): Promise<void> {
    for (const m of this.#made.reverse()) {
      await (m.dir ? rmdir(m.path) : unlink(m.path)).catch(() => {});
    }
    await rmdir(this.options.dir).catch(() => {});
  }

  /** Where an entry's name goes (its components under `dir`), or why it is skipped. */
  #placed(name: string): string[] | string {
    if (name.startsWith("/")) return "an absolute name";
    const raw = name.split("/").filter((p) => p !== "" && p !== ".");
    if (raw.includes("..")) return 'a name that climbs out with ".."';
    const bad = raw.map(unsafeComponent).find((why) => why !== null);
    if (bad) return bad;
    return this.options.place(raw.join("/")) ?? "not part of what the agent hands back";
  }

  /** Makes each missing directory of `parts`; false when one of them is a file already. */
  async #ensureDir(parts: string[]): Promise<boolean> {
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join("/");
      if (this.#dirs.has(rel)) continue;
      if (this.#files.has(rel)) return false;
      const path = join(this.options.dir, ...parts.slice(0, i));
      // mkdir never follows a link: a name that exists (which only this run can have made) fails.
      await mkdir(path, { mode: 0o755 });
      this.#made.push({ path, dir: true });
      this.#dirs.add(rel);
      this.result.dirs.push(rel);
    }
    return true;
  }
}

/** Passes `source` on, counting its bytes; past `max`, throws before handing them on. */
async function* counted(
  source: AsyncIterable<Buffer>,
  max: number,
  result: ExtractResult,
): AsyncIterable<Buffer> {
  for await (const chunk of source) {
    result.bytes += chunk.length;
    if (result.bytes > max) {
      throw new HarvestRefused(`more than the ${max} bytes claude-bottle copies out`, "bound");
    }
    yield chunk;
  }
}

function kindOf(type: string): string {
  switch (type) {
    case "1":
      return "a hard link";
    case "2":
      return "a symbolic link";
    case "3":
    case "4":
      return "a device file";
    case "6":
      return "a FIFO";
    default:
      return `an entry of type ${JSON.stringify(type)}`;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
