// Reads a text file a user or a repository handed us, bounded: opened non-blocking so that a
// FIFO cannot hang the read, refused unless it is a regular file (a link to /dev/zero would
// never end), read to at most one byte past its cap, and decoded only if it is UTF-8 without
// NUL bytes. A refusal names the file, the line and column or offset, and the fix; nothing is
// ever decoded with replacement characters: what the file says must be what is checked.
import { isUtf8 } from "node:buffer";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { InputError } from "./errors.js";

export interface TextFileKind {
  /** "a manifest", "a plan file": named in refusals. */
  what: string;
  maxBytes: number;
  tooLargeHint: string;
  notRegularHint: string;
}

/** Undefined when there is no file at `path`. */
export async function readBoundedFile(
  path: string,
  label: string,
  kind: TextFileKind,
): Promise<Buffer | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw cannotRead(label, cause);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new InputError(`${label}: is not a regular file`, { hint: kind.notRegularHint });
    }
    if (stats.size > kind.maxBytes) throw tooLarge(label, stats.size, kind);
    const buffer = Buffer.alloc(kind.maxBytes + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > kind.maxBytes) throw tooLarge(label, undefined, kind);
    return buffer.subarray(0, filled);
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    throw cannotRead(label, cause);
  } finally {
    await handle.close();
  }
}

function cannotRead(label: string, cause: unknown): InputError {
  return new InputError(
    `${label}: cannot read: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
    { hint: "check that the file exists and is readable", cause },
  );
}

/** @param size undefined when the file grew past the cap while it was read */
function tooLarge(label: string, size: number | undefined, kind: TextFileKind): InputError {
  return new InputError(
    `${label}: ${size === undefined ? "grew past" : `${size} bytes, over`} the ${kind.maxBytes} bytes (${kind.maxBytes / 1024} KiB) ${kind.what} may have`,
    { hint: kind.tooLargeHint },
  );
}

/** The text of `bytes`: UTF-8 without NUL bytes, or a refusal saying where it is not. */
export function decodeTextFile(bytes: Uint8Array, label: string, kind: TextFileKind): string {
  if (bytes.length > kind.maxBytes) throw tooLarge(label, bytes.length, kind);
  const bad = isUtf8(bytes) ? -1 : invalidUtf8Offset(bytes);
  if (bad !== -1) {
    const byte = (bytes[bad] ?? 0).toString(16).padStart(2, "0");
    throw new InputError(
      `${label}:${bytePosition(bytes, bad)}: byte 0x${byte} at offset ${bad} is not UTF-8`,
      { hint: "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)" },
    );
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new InputError(
      `${label}:${bytePosition(bytes, nul)}: a NUL byte at offset ${nul}; ${kind.what} is text`,
      { hint: `remove the NUL bytes; a binary file is not ${kind.what}` },
    );
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8");
}

/** "line:col" of a byte offset, the column counted in bytes. */
function bytePosition(bytes: Uint8Array, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1 && i < offset; i = bytes.indexOf(0x0a, i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return `${line}:${offset - lineStart + 1}`;
}

/** The offset of the first byte that does not start a well-formed UTF-8 sequence. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : 4;
    if (lead < 0xc2 || lead > 0xf4 || i + length > bytes.length) return i;
    const second = bytes[i + 1] as number;
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    if (second < low || second > high) return i;
    for (let k = 2; k < length; k += 1) {
      if (((bytes[i + k] as number) & 0xc0) !== 0x80) return i;
    }
    i += length;
  }
  return -1;
}
