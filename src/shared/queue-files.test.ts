import { execFileSync } from "node:child_process";
import { symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDirPerTest } from "../../test/support/unit/temp-dir.js";
import { readTextNoFollow } from "./queue-files.js";

const dir = tempDirPerTest("cb-queue-");

describe("readTextNoFollow", () => {
  it("reads a regular file, and gives null for one that is not there", async () => {
    await writeFile(join(dir(), "a.json"), "{}\n");
    expect(await readTextNoFollow(join(dir(), "a.json"))).toBe("{}\n");
    expect(await readTextNoFollow(join(dir(), "none.json"))).toBeNull();
  });

  it("refuses a symlink, to a file or to a directory, without following it", async () => {
    await writeFile(join(dir(), "secret"), "host secret");
    await symlink(join(dir(), "secret"), join(dir(), "to-file.json"));
    await symlink(dir(), join(dir(), "to-dir.json"));
    await expect(readTextNoFollow(join(dir(), "to-file.json"))).rejects.toThrow(/ELOOP/);
    await expect(readTextNoFollow(join(dir(), "to-dir.json"))).rejects.toThrow(/ELOOP/);
  });

  it("refuses a FIFO at once instead of waiting for a writer, and a device", async () => {
    execFileSync("mkfifo", [join(dir(), "fifo.json")]);
    await expect(readTextNoFollow(join(dir(), "fifo.json"))).rejects.toThrow(/not a regular file/);
    await expect(readTextNoFollow("/dev/zero")).rejects.toThrow(/not a regular file/);
    await expect(readTextNoFollow(dir())).rejects.toThrow(/not a regular file/);
  });

  it("refuses a file over the bound rather than reading it into memory", async () => {
    await writeFile(join(dir(), "big.json"), "x".repeat(1025));
    await expect(readTextNoFollow(join(dir(), "big.json"), 1024)).rejects.toThrow(
      /is over 1024 bytes/,
    );
    await writeFile(join(dir(), "edge.json"), "x".repeat(1024));
    expect(await readTextNoFollow(join(dir(), "edge.json"), 1024)).toHaveLength(1024);
  });
});
