// Unpacks an npm package tarball (gzip'd ustar/pax, as `npm pack` writes it) into an empty
// directory. Only regular files and directories are written, each strictly inside the
// target: a link, a device, an absolute path, a ".." component, a duplicate entry, a bad
// header checksum or a truncated archive refuses the whole package. Files get 0755 when
// the archive marks them executable, else 0644; owners and times are not restored.
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { createGunzip } from "node:zlib";
import { BottleError } from "../shared/errors.js";

const BLOCK = 512;

export interface UntarOptions {
  /** The archive's first path component, removed from every entry ("package"). */
  stripRoot: string;
  /** Refuse an archive whose files add up to more than this many bytes. */
  maxBytes: number;
}

export interface UntarResult {
  files: number;
  bytes: number;
}

interface Entry {
  name: string;
  type: string;
  size: number;
  mode: number;
}

/** Parses one 512-byte header; null for an all-zero block (the end marker). */
export function parseTarHeader(block: Buffer): Entry | null {
  if (block.every((b) => b === 0)) return null;
  const stored = octal(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  if (stored !== sum) throw new TarError("a header's checksum does not match (corrupt archive)");
  const text = (from: number, to: number) => {
    const field = block.subarray(from, to);
    const end = field.indexOf(0);
    return field.subarray(0, end < 0 ? field.length : end).toString("utf8");
  };
  const magic = text(257, 263);
  const prefix = magic.startsWith("ustar") ? text(345, 500) : "";
  const name = text(0, 100);
  return {
    name: prefix === "" ? name : `${prefix}/${name}`,
    type: String.fromCharCode(block[156] ?? 0),
    size: size(block.subarray(124, 136)),
    mode: octal(block.subarray(100, 108)),
  };
}

function octal(field: Buffer): number {
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError("a header holds a malformed number");
  return Number.parseInt(text, 8);
}

/** Octal, or GNU base-256 (high bit set) for sizes past 8 GiB. */
function size(field: Buffer): number {
  if (((field[0] ?? 0) & 0x80) === 0) return octal(field);
  let n = (field[0] ?? 0) & 0x7f;
  for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
  if (!Number.isSafeInteger(n)) throw new TarError("an entry's size is too large");
  return n;
}

/** The `path` of a pax extended header ("<len> path=<value>\n" records), if it has one. */
export function paxPath(data: Buffer): string | undefined {
  let path: string | undefined;
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) throw new TarError("a pax header is malformed");
    const length = Number.parseInt(data.subarray(at, space).toString("latin1"), 10);
    if (!Number.isInteger(length) || length <= space - at || at + length > data.length) {
      throw new TarError("a pax header is malformed");
    }
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0 && record.slice(0, eq) === "path") path = record.slice(eq + 1);
    at += length;
  }
  return path;
}

/**
 * The entry's path below `stripRoot`, as components; [] for the root itself. Throws for
 * any path that could land outside the target.
 */
export function entryComponents(name: string, stripRoot: string): string[] {
  if (name.includes("\0") || name.includes("\\")) throw new TarError(`"${name}": bad characters`);
  if (name.startsWith("/")) throw new TarError(`"${name}" is an absolute path`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new TarError(`"${name}" climbs out with ".."`);
  if (parts[0] !== stripRoot) throw new TarError(`"${name}" is not under ${stripRoot}/`);
  return parts.slice(1);
}

export class TarError extends BottleError {
  constructor(message: string) {
    super(`refused the package: ${message}`, {
      hint: "the tarball is not a plain npm package; fetch it again, and report it if it persists",
    });
    this.name = "TarError";
  }
}

/** Unpacks `tarball` into `target`, which must exist and be empty. */
export async function untarPackage(
  tarball: string,
  target: string,
  options: UntarOptions,
): Promise<UntarResult> {
  const root = resolve(target);
  const seen = new Set<string>();
  let pending: Buffer = Buffer.alloc(0);
  let entry: Entry | null = null;
  let remaining = 0;
  let padding = 0;
  let meta: Buffer[] | null = null;
  let nextName: string | undefined;
  let out: FileHandle | null = null;
  let ended = false;
  const result: UntarResult = { files: 0, bytes: 0 };

  const begin = async (e: Entry) => {
    const name = nextName ?? e.name;
    nextName = undefined;
    remaining = e.size;
    padding = (BLOCK - (e.size % BLOCK)) % BLOCK;
    if (e.type === "x" || e.type === "L") {
      meta = [];
      entry = e;
      return;
    }
    if (e.type === "g") {
      meta = null;
      entry = e;
      return;
    }
    const parts = entryComponents(name, options.stripRoot);
    const path = join(root, ...parts);
    if (path !== root && !path.startsWith(root + sep)) {
      throw new TarError(`"${name}" lands outside the package`);
    }
    if (seen.has(path)) throw new TarError(`"${name}" appears twice`);
    seen.add(path);
    if (e.type === "5") {
      await mkdir(path, { recursive: true, mode: 0o755 });
      entry = e;
      return;
    }
    if (e.type !== "0" && e.type !== "\0" && e.type !== "7") {
      const what = e.type === "1" || e.type === "2" ? "a link" : `an entry of type "${e.type}"`;
      throw new TarError(`"${name}" is ${what}; only files and directories are accepted`);
    }
    if (parts.length === 0) throw new TarError(`"${name}" is a file at the package root`);
    result.files += 1;
    result.bytes += e.size;
    if (result.bytes > options.maxBytes) {
      throw new TarError(`its files add up to more than ${options.maxBytes} bytes`);
    }
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    // "wx": never through an existing file, so nothing written earlier is followed.
    out = await open(path, "wx", (e.mode & 0o100) !== 0 ? 0o755 : 0o644);
    entry = e;
  };

  const finish = async () => {
    const done = entry;
    entry = null;
    if (out !== null) {
      await out.close();
      out = null;
    }
    if (done !== null && meta !== null) {
      const data = Buffer.concat(meta);
      meta = null;
      if (done.type === "L") nextName = data.toString("utf8").replace(/\0+$/, "");
      else nextName = paxPath(data) ?? nextName;
    }
  };

  try {
    for await (const chunk of createReadStream(tarball).pipe(createGunzip())) {
      pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk]);
      while (!ended) {
        if (entry !== null && remaining > 0) {
          if (pending.length === 0) break;
          const take = Math.min(remaining, pending.length);
          const part = pending.subarray(0, take);
          if (out !== null) await (out as FileHandle).write(part);
          else if (meta !== null) (meta as Buffer[]).push(Buffer.from(part));
          remaining -= take;
          pending = pending.subarray(take);
          continue;
        }
        if (entry !== null) {
          if (pending.length < padding) break;
          pending = pending.subarray(padding);
          await finish();
          continue;
        }
        if (pending.length < BLOCK) break;
        const header = parseTarHeader(pending.subarray(0, BLOCK));
        pending = pending.subarray(BLOCK);
        if (header === null) {
          ended = true;
          break;
        }
        await begin(header);
      }
    }
  } catch (error) {
    if (out !== null) await (out as FileHandle).close().catch(() => {});
    if (error instanceof TarError) throw error;
    throw new TarError(`cannot unpack it: ${error instanceof Error ? error.message : error}`);
  }
  if (!ended || entry !== null) throw new TarError("the archive is truncated");
  return result;
}
