// Reads one manifest: Markdown with YAML front matter, parsed with positions so that
// every later error can name the file, line and column. An agent's file may come from a
// cloned repository: it is read only up to the size cap, and must be UTF-8 text.

import { isUtf8 } from "node:buffer";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { InputError } from "../shared/errors.js";
import { parseYamlSource, type YamlSource } from "../shared/yaml-source.js";
import { splitFrontMatter } from "./front-matter.js";
import { MANIFEST_YAML_LIMITS, MAX_MANIFEST_BYTES } from "./manifest-limits.js";

export interface ManifestFile {
  /** Absolute path. */
  path: string;
  /** As shown to the user: "~/.claude-bottle/bottles/dev.md". */
  label: string;
  /** The front matter; its value is always a plain object. */
  source: YamlSource;
  body: string;
}

export const MANIFEST_HINT =
  "`claude-bottle docs manifests` describes every key; `claude-bottle init` writes complete examples";

/** Undefined when there is no file at `path`. */
export async function readManifestFile(
  path: string,
  label: string,
): Promise<ManifestFile | undefined> {
  const bytes = await readBounded(path, label);
  if (bytes === undefined) return undefined;
  return parseManifestText(decodeManifest(bytes, label), { path, label });
}

/**
 * At most one byte past the cap. Opened non-blocking so that a FIFO cannot hang the read,
 * and refused unless it is a regular file (a link to /dev/zero would never end).
 */
async function readBounded(path: string, label: string): Promise<Buffer | undefined> {
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
      throw new InputError(`${label}: is not a regular file`, {
        hint: "a manifest is a Markdown file; replace this with one",
      });
    }
    if (stats.size > MAX_MANIFEST_BYTES) throw tooLarge(label, stats.size);
    const buffer = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > MAX_MANIFEST_BYTES) throw tooLarge(label, undefined);
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
function tooLarge(label: string, size: number | undefined): InputError {
  return new InputError(
    `${label}: ${size === undefined ? "grew past" : `${size} bytes, over`} the ${MAX_MANIFEST_BYTES} bytes (256 KiB) a manifest may have`,
    {
      hint: "a manifest is written by hand and is a few KiB at most; shorten it, or check that this is the file you meant",
    },
  );
}

/**
 * The text of a manifest's bytes: UTF-8 (a byte-order mark is dropped later), without NUL
 * bytes. Anything else is refused with where it is, never decoded with replacements: what
 * the file says must be what is checked.
 */
export function decodeManifest(bytes: Uint8Array, label: string): string {
  if (bytes.length > MAX_MANIFEST_BYTES) throw tooLarge(label, bytes.length);
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
      `${label}:${bytePosition(bytes, nul)}: a NUL byte at offset ${nul}; a manifest is text`,
      { hint: "remove the NUL bytes; a binary file is not a manifest" },
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

export function parseManifestText(
  text: string,
  where: { path: string; label: string },
): ManifestFile {
  const { yaml, yamlLineOffset, body } = splitFrontMatter(text, where.label);
  const source = parseYamlSource(yaml, where.label, {
    lineOffset: yamlLineOffset,
    limits: MANIFEST_YAML_LIMITS,
  });
  const value = source.value ?? {};
  if (typeof value !== "object" || Array.isArray(value)) {
    const at = source.locate([]);
    throw new InputError(
      `${where.label}:${at.line}:${at.col}: the front matter must be "key: value" lines, got ${Array.isArray(value) ? "a list" : "a single value"}`,
      { hint: MANIFEST_HINT },
    );
  }
  return { ...where, source: { ...source, value }, body };
}
