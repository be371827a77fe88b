// docs/threat-model.md promises that a named test proves each guarantee. This reads the
// document as it is, whatever sections it has, and checks that every claim in a section
// of guarantees cites at least one test by file and name, and that every cited file and
// test name exists. A citation is a code span: `test/x/y.test.ts > the test's name` (or
// the file alone, `test/x/y.test.ts`, beside a named one).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DOCUMENT = "docs/threat-model.md";
/** Sections that make no promise of their own; every other `##` section is one of guarantees. */
const NOT_GUARANTEES = new Set(["Who is who", "What it does not guarantee", "What you must do"]);
/**
 * Sections whose every claim names its test; in a section of guarantees not listed here
 * every claim cites at least a test file (names, where given, are checked all the same).
 */
const NAMED = new Set(["What the bottle guarantees"]);
const CITATION = /`((?:src|test)\/[^`\s]+\.test\.ts)(?: > ([^`]+))?`/g;

interface Citation {
  file: string;
  name: string | null;
}

interface Claim {
  section: string;
  /** The paragraph right under a `##` heading: an introduction, not a claim of its own. */
  intro: boolean;
  text: string;
  citations: Citation[];
}

/**
 * The document's claims: each top-level list item and each paragraph, under its `##`
 * section (text before the first `##` is the preamble, not a section). Tables and headings
 * are not claims.
 */
function claimsOf(markdown: string): Claim[] {
  const claims: Claim[] = [];
  let section: string | null = null;
  let block: string[] = [];
  let list = false;
  let afterHeading = false;
  const flush = () => {
    const text = block.join(" ").replace(/\s+/g, " ").trim();
    block = [];
    if (section === null || text === "") return;
    const citations = [...text.matchAll(CITATION)].map((m) => ({
      file: m[1] as string,
      name: m[2]?.trim() ?? null,
    }));
    claims.push({ section, intro: afterHeading && !list, text, citations });
    afterHeading = false;
  };
  for (const line of markdown.split("\n")) {
    if (line.startsWith("#")) {
      flush();
      const h2 = /^## (.+)$/.exec(line);
      if (h2 !== null) section = (h2[1] as string).trim();
      afterHeading = h2 !== null;
    } else if (line.trim() === "" || line.startsWith("|")) {
      flush();
    } else if (line.startsWith("- ")) {
      flush();
      list = true;
      block.push(line.slice(2));
    } else {
      if (block.length === 0) list = false;
      block.push(line);
    }
  }
  flush();
  return claims;
}

/** Whether the test file's source holds `name` as a test's title (a quoted literal). */
function namesTest(source: string, name: string): boolean {
  return ['"', "'", "`"].some((q) => source.includes(`${q}${name}${q}`));
}

/** What is wrong with the document's citations: empty when every one holds. */
function citationProblems(markdown: string, root: string): string[] {
  const problems: string[] = [];
  const sources = new Map<string, string | null>();
  const sourceOf = (file: string) => {
    if (!sources.has(file)) {
      const path = join(root, file);
      sources.set(file, existsSync(path) ? readFileSync(path, "utf8") : null);
    }
    return sources.get(file) ?? null;
  };
  for (const claim of claimsOf(markdown)) {
    const where = `${claim.section}: "${claim.text.slice(0, 70)}…"`;
    if (!NOT_GUARANTEES.has(claim.section) && !claim.intro) {
      if (NAMED.has(claim.section) && !claim.citations.some((c) => c.name !== null)) {
        problems.push(`${where} cites no test by name (\`test/….test.ts > its name\`)`);
      } else if (claim.citations.length === 0) {
        problems.push(`${where} cites no test (\`test/….test.ts\`)`);
      }
    }
    for (const c of claim.citations) {
      const source = sourceOf(c.file);
      if (source === null) problems.push(`${where} cites ${c.file}, which does not exist`);
      else if (c.name !== null && !namesTest(source, c.name)) {
        problems.push(`${where} cites "${c.name}", which ${c.file} does not name`);
      }
    }
  }
  return problems;
}

describe(DOCUMENT, () => {
  const markdown = readFileSync(join(ROOT, DOCUMENT), "utf8");

  it("cites, for every guarantee, a test by file and name, and every one cited exists", () => {
    expect(claimsOf(markdown).filter((c) => !NOT_GUARANTEES.has(c.section)).length).toBeGreaterThan(
      10,
    );
    expect(citationProblems(markdown, ROOT)).toEqual([]);
  });

  it("finds an uncited claim, a missing file and a missing test name (the checker's controls)", () => {
    const doc = [
      "# Threat model",
      "Preamble, not a claim.",
      "## What it does not guarantee",
      "- Not a promise.",
      "## What the bottle guarantees",
      "### A group",
      "- Cites only a file. `src/threat-model-citations.test.ts`",
      "- Holds. `src/threat-model-citations.test.ts > finds an uncited claim, a missing file and a missing test name (the checker's controls)`",
      "## A section added later",
      "An introduction, not a claim.",
      "",
      "- Cites nothing.",
      "- Cites a file that is not there. `test/nowhere/gone.test.ts`",
      "- Cites a name its file lacks. `src/shared/yaml-source.test.ts > no such test`",
      "- Cites a file. `src/threat-model-citations.test.ts`",
      "",
      "A paragraph that cites nothing.",
    ].join("\n");
    expect(citationProblems(doc, ROOT)).toEqual([
      'What the bottle guarantees: "Cites only a file. `src/threat-model-citations.test.ts`…" cites no test by name (`test/….test.ts > its name`)',
      'A section added later: "Cites nothing.…" cites no test (`test/….test.ts`)',
      'A section added later: "Cites a file that is not there. `test/nowhere/gone.test.ts`…" cites test/nowhere/gone.test.ts, which does not exist',
      'A section added later: "Cites a name its file lacks. `src/shared/yaml-source.test.ts > no such…" cites "no such test", which src/shared/yaml-source.test.ts does not name',
      'A section added later: "A paragraph that cites nothing.…" cites no test (`test/….test.ts`)',
    ]);
  });
});
