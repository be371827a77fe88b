// Reads a DockerBottlePlan from a JSON file (`claude-bottle compose --plan`), with errors
// that name the file, line, field and what was expected.
import { type DockerBottlePlan, DockerBottlePlanSchema } from "../core/bottle-plan.js";
import { decodeTextFile, readBoundedFile, type TextFileKind } from "../shared/bounded-text-file.js";
import { InputError } from "../shared/errors.js";
import { formatIssuePath, parseWithSchema, parseYamlSource } from "../shared/yaml-source.js";

/** A plan is a few KiB; an 8.9 MB one took 16 s to render. */
export const MAX_PLAN_BYTES = 1024 * 1024;

const PLAN_TEXT: TextFileKind = {
  what: "a plan file",
  maxBytes: MAX_PLAN_BYTES,
  tooLargeHint: "a plan is a few KiB; check that this is the file you meant (see examples/plans/)",
  notRegularHint: "pass the path of a JSON plan file, e.g. --plan examples/plans/full.json",
};

export async function loadPlanFile(path: string): Promise<DockerBottlePlan> {
  const bytes = await readBoundedFile(path, path, PLAN_TEXT);
  if (bytes === undefined) {
    throw new InputError(`cannot read plan file ${path}: ENOENT`, {
      hint: "pass the path of a JSON plan file, e.g. --plan examples/plans/full.json",
    });
  }
  return parsePlanText(decodeTextFile(bytes, path, PLAN_TEXT), path);
}

export function parsePlanText(text: string, label: string): DockerBottlePlan {
  if (text.trim() === "") {
    throw new InputError(`${label}: the plan file is empty`, { hint: PLAN_HINT });
  }
  let json: unknown;
  try {
    // YAML accepts more than JSON ("{"a": }" is a null): insist on JSON first.
    json = JSON.parse(text);
  } catch (cause) {
    throw new InputError(`${label}: not valid JSON: ${jsonErrorSummary(cause)}`, {
      hint: PLAN_HINT,
      cause,
    });
  }
  const control = controlCharacterAt(json, []);
  if (control !== undefined) {
    throw new InputError(
      `${label}: ${control.path}: a control character (U+${control.code}) in a name, path or value`,
      { hint: "plans hold names and paths on one line each; remove the character" },
    );
  }
  return parseWithSchema(DockerBottlePlanSchema, parseYamlSource(text, label), label, PLAN_HINT);
}

/** V8 echoes the input after the reason ("Unexpected token '}', "{…" is not valid JSON"): drop it. */
function jsonErrorSummary(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return (message.split(/, (?:"|\.\.\.)|\n/)[0] ?? message).trim();
}

/** The first string (or key) in `value` holding a C0 or C1 control character, and where. */
function controlCharacterAt(
  value: unknown,
  path: readonly (string | number)[],
): { path: string; code: string } | undefined {
  const found = (text: string) => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
    const m = /[\u0000-\u001f\u007f-\u009f]/.exec(text);
    return m === null
      ? undefined
      : (m[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
  };
  const shown = () => formatIssuePath(path) || "(the whole plan)";
  if (typeof value === "string") {
    const code = found(value);
    return code === undefined ? undefined : { path: shown(), code };
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const hit = controlCharacterAt(item, [...path, i]);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const code = found(key);
      if (code !== undefined) return { path: `${shown()} (a key)`, code };
      const hit = controlCharacterAt(item, [...path, key]);
      if (hit !== undefined) return hit;
    }
  }
  return undefined;
}

const PLAN_HINT = "see examples/plans/full.json for a complete plan";
