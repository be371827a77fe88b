// Reads one manifest: Markdown with YAML front matter, parsed with positions so that
// every later error can name the file, line and column.
import { readFile } from "node:fs/promises";
import { InputError } from "../shared/errors.js";
import { parseYamlSource, type YamlSource } from "../shared/yaml-source.js";
import { splitFrontMatter } from "./front-matter.js";

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
  "docs/manifests.md describes every key; examples/manifests/ has complete manifests";

/** Undefined when there is no file at `path`. */
export async function readManifestFile(
  path: string,
  label: string,
): Promise<ManifestFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new InputError(
      `${label}: cannot read: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
      { hint: "check that the file exists and is readable", cause },
    );
  }
  return parseManifestText(text, { path, label });
}

export function parseManifestText(
  text: string,
  where: { path: string; label: string },
): ManifestFile {
  const { yaml, yamlLineOffset, body } = splitFrontMatter(text, where.label);
  const source = parseYamlSource(yaml, where.label, yamlLineOffset);
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
