import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keepRegularFiles, publicRemoteUrl } from "./workspace.js";

describe("publicRemoteUrl", () => {
  it.each([
    ["https://user:s3cret@github.com/o/r.git", "https://github.com/o/r.git"],
    ["https://ghp_token123@github.com/o/r.git", "https://github.com/o/r.git"],
    ["http://x-access-token:abc@git.example.test/r", "http://git.example.test/r"],
    ["https://github.com/o/r.git", "https://github.com/o/r.git"],
    ["ssh://git@git.example.test:2222/o/r.git", "ssh://git@git.example.test:2222/o/r.git"],
    ["ssh://git:pw@git.example.test/o/r.git", "ssh://git@git.example.test/o/r.git"],
    ["git@github.com:o/r.git", "git@github.com:o/r.git"],
    ["git:pw@github.com:o/r.git", "github.com:o/r.git"],
  ])("%s -> %s", (url, shown) => {
    expect(publicRemoteUrl(url)).toBe(shown);
  });

  it.each(["/srv/git/r.git", "../r.git", "file:///srv/git/r.git", "https://[bad"])(
    "gives no URL for %s, which means nothing inside the bottle",
    (url) => {
      expect(publicRemoteUrl(url)).toBeNull();
    },
  );
});

describe("keepRegularFiles", () => {
  it("keeps files and removes links and directories the agent put in their place", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cb-kept-"));
    try {
      await writeFile(join(dir, "work.bundle"), "bundle");
      await symlink("/etc/hostname", join(dir, "changes.patch"));
      await mkdir(join(dir, "branch"));
      const warnings: string[] = [];
      expect(await keepRegularFiles(dir, warnings)).toEqual(["work.bundle"]);
      expect((await readdir(dir)).sort()).toEqual(["work.bundle"]);
      expect(warnings.sort()).toEqual([
        'the agent\'s work held "branch", which is not a file: not kept',
        'the agent\'s work held "changes.patch", which is not a file: not kept',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
