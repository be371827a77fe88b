// Unpacks an npm package tarball (gzip'd ustar/pax, as `npm pack` writes it) into an empty
// directory. Only regular files and directories are written, each strictly inside the
// target: a link, a device, an absolute path, a ".." component, a duplicate entry, a bad
// header checksum or a truncated archive refuses the whole package. Files get 0755 when
// the archive marks them executable, else 0644; owners and times are not restored.
import { createReadStream } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { createGunzip } from "node:zlib";
import { BottleError } from "../shared/errors.js";
import {
  readTar,
  type TarEntryHeader,
  TarFormatError,
  type TarSink,
} from "../shared/tar-reader.js";

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
  const result: UntarResult = { files: 0, bytes: 0 };

  const entry = async (e: TarEntryHeader): Promise<TarSink | null> => {
    const parts = entryComponents(e.name, options.stripRoot);
    const path = join(root, ...parts);
    if (path !== root && !path.startsWith(root + sep)) {
      throw new TarError(`"${e.name}" lands outside the package`);
    }
    if (seen.has(path)) throw new TarError(`"${e.name}" appears twice`);
    seen.add(path);
    if (e.type === "5") {
      await mkdir(path, { recursive: true, mode: 0o755 });
      return null;
    }
    if (e.type !== "0" && e.type !== "\0" && e.type !== "7") {
      const what = e.type === "1" || e.type === "2" ? "a link" : `an entry of type "${e.type}"`;
      throw new TarError(`"${e.name}" is ${what}; only files and directories are accepted`);
    }
    if (parts.length === 0) throw new TarError(`"${e.name}" is a file at the package root`);
    result.files += 1;
    result.bytes += e.size;
    if (result.bytes > options.maxBytes) {
      throw new TarError(`its files add up to more than ${options.maxBytes} bytes`);
    }
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    // "wx": never through an existing file, so nothing written earlier is followed.
    const out = await open(path, "wx", (e.mode & 0o100) !== 0 ? 0o755 : 0o644);
    return {
      write: async (chunk) => {
        await out.write(chunk);
      },
      close: () => out.close(),
    };
  };

  try {
    await readTar(createReadStream(tarball).pipe(createGunzip()), { entry });
  } catch (error) {
    if (error instanceof TarError) throw error;
    if (error instanceof TarFormatError) throw new TarError(error.message);
    throw new TarError(`cannot unpack it: ${error instanceof Error ? error.message : error}`);
  }
  return result;
}
