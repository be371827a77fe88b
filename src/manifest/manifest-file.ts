// Reads one manifest: Markdown with YAML front matter, parsed with positions so that
// every later error can name the file, line and column. An agent's file may come from a
// cloned repository: it is read only up to the size cap, and must be UTF-8 text.

import { decodeTextFile, readBoundedFile, type TextFileKind } from "../shared/bounded-text-file.js";
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
  const bytes = await readBoundedFile(path, label, MANIFEST_TEXT);
  if (bytes === undefined) return undefined;
  return parseManifestText(decodeManifest(bytes, label), { path, label });
}

/** How a manifest is read: bounded, a regular file, UTF-8 text. */
const MANIFEST_TEXT: TextFileKind = {
  what: "a manifest",
  maxBytes: MAX_MANIFEST_BYTES,
  tooLargeHint:
    "a manifest is written by hand and is a few KiB at most; shorten it, or check that this is the file you meant",
  notRegularHint: "a manifest is a Markdown file; replace this with one",
};

/**
 * The text of a manifest's bytes: UTF-8 (a byte-order mark is dropped later), without NUL
 * bytes. Anything else is refused with where it is, never decoded with replacements.
 */
export function decodeManifest(bytes: Uint8Array, label: string): string {
  return decodeTextFile(bytes, label, MANIFEST_TEXT);
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
