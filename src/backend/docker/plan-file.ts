// Reads a DockerBottlePlan from a JSON file (`claude-bottle compose --plan`), with errors
// that name the file, line, field and what was expected.
import { readFile } from "node:fs/promises";
import { type DockerBottlePlan, DockerBottlePlanSchema } from "../../core/bottle-plan.js";
import { InputError } from "../../shared/errors.js";
import { parseWithSchema, parseYamlSource } from "../../shared/yaml-source.js";

export async function loadPlanFile(path: string): Promise<DockerBottlePlan> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new InputError(
      `cannot read plan file ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      {
        hint: "pass the path of a JSON plan file, e.g. --plan examples/plans/full.json",
        cause,
      },
    );
  }
  return parsePlanText(text, path);
}

export function parsePlanText(text: string, label: string): DockerBottlePlan {
  if (text.trim() === "") {
    throw new InputError(`${label}: the plan file is empty`, { hint: PLAN_HINT });
  }
  try {
    // YAML accepts more than JSON ("{"a": }" is a null): insist on JSON first.
    JSON.parse(text);
  } catch (cause) {
    throw new InputError(`${label}: not valid JSON: ${jsonErrorSummary(cause)}`, {
      hint: PLAN_HINT,
      cause,
    });
  }
  return parseWithSchema(DockerBottlePlanSchema, parseYamlSource(text, label), label, PLAN_HINT);
}

/** V8 echoes the input after the reason ("Unexpected token '}', "{…" is not valid JSON"): drop it. */
function jsonErrorSummary(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return (message.split(/, (?:"|\.\.\.)|\n/)[0] ?? message).trim();
}

const PLAN_HINT = "see examples/plans/full.json for a complete plan";
