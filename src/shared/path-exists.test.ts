import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pathExists } from "./path-exists.js";

describe("pathExists", () => {
  const dir = mkdtempSync(join(tmpdir(), "path-exists-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("sees files, folders and links, dangling ones too, and nothing where nothing is", async () => {
    writeFileSync(join(dir, "file"), "x");
    symlinkSync(join(dir, "nowhere"), join(dir, "dangling"));
    expect(await pathExists(join(dir, "file"))).toBe(true);
    expect(await pathExists(dir)).toBe(true);
    expect(await pathExists(join(dir, "dangling"))).toBe(true);
    expect(await pathExists(join(dir, "nowhere"))).toBe(false);
  });
});
