import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCliCaptured } from "../../test/support/cli/captured-io.js";
import { DOCS_DIR, PACKAGE_ROOT } from "../shared/installed-files.js";

const run = runCliCaptured;

describe("claude-bottle docs", () => {
  it("lists the topics that ship with the package, with their titles", async () => {
    const t = await run("docs");
    expect(t.code).toBe(0);
    const topics = (await readdir(DOCS_DIR)).filter((n) => n.endsWith(".md"));
    expect(topics.length).toBeGreaterThan(3);
    for (const name of topics) expect(t.stdout).toContain(name.slice(0, -3));
    expect(t.stdout).toMatch(/^manifests\s+\S/m);
  });

  it("prints a topic, or its path", async () => {
    const t = await run("docs", "manifests");
    expect(t.code).toBe(0);
    expect(t.stdout).toBe(await readFile(join(DOCS_DIR, "manifests.md"), "utf8"));
    const p = await run("docs", "threat-model", "--path");
    expect(p.stdout).toBe(`${join(PACKAGE_ROOT, "docs", "threat-model.md")}\n`);
  });

  it("names the topics when asked for one that does not exist", async () => {
    const t = await run("docs", "manifest");
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('no documentation topic "manifest" (did you mean "manifests"?)');
    expect(t.stderr).toMatch(/hint: the topics are: .*manifests/);
  });
});

describe("hints and help", () => {
  it("name no file by its path in this repository, which an installed user does not have", async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
          (await readFile(path, "utf8")).split("\n").forEach((line, i) => {
            const code = line.replace(/^\s*(\/\/|\*|\/\*\*).*$/, "");
            if (/["'`][^"'`]*\b(docs|scripts|examples)\/[\w.-]+\.(md|sh)\b/.test(code)) {
              offenders.push(`${path}:${i + 1}: ${line.trim()}`);
            }
          });
        }
      }
    };
    await walk(join(PACKAGE_ROOT, "src"));
    expect(offenders).toEqual([]);
  });
});

describe("claude-bottle --help", () => {
  it("says where the documentation is", async () => {
    const t = await run("--help");
    expect(t.stdout).toContain("`claude-bottle docs` lists the topics");
  });
});
