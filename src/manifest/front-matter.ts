// Splits a Markdown manifest into its YAML front matter and its body. Written over plain
// string handling on purpose: front-matter libraries that also run `---js` blocks must
// never see a manifest that a cloned repository provides.
import { InputError } from "../shared/errors.js";

export interface FrontMatter {
  /** The YAML between the two "---" lines. */
  yaml: string;
  /** Lines of the file before `yaml` starts (the opening "---"). */
  yamlLineOffset: number;
  /** Everything after the closing "---", without the blank lines around it. */
  body: string;
}

const FENCE = /^---[ \t]*$/;
const HINT = 'a manifest starts with a line "---", then its YAML keys, then a line "---"';

/** @param label how the file is named in errors, e.g. "~/.claude-bottle/bottles/dev.md" */
export function splitFrontMatter(text: string, label: string): FrontMatter {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (!FENCE.test(lines[0] ?? "")) {
    throw new InputError(`${label}:1:1: missing front matter: the first line must be "---"`, {
      hint: HINT,
    });
  }
  const close = lines.findIndex((line, i) => i > 0 && FENCE.test(line));
  if (close === -1) {
    throw new InputError(
      `${label}:1:1: front matter is not closed: add a line "---" after the YAML keys`,
      { hint: HINT },
    );
  }
  return {
    yaml: lines.slice(1, close).join("\n"),
    yamlLineOffset: 1,
    body: lines
      .slice(close + 1)
      .join("\n")
      .replace(/^(?:[ \t]*\n)+/, "")
      .trimEnd(),
  };
}
