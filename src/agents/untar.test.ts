import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paxRecords, type TarEntry, tgz } from "../../test/support/fixtures/tarball-fixture.js";
import { untarPackage } from "./untar.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "cb-untar-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

let n = 0;
/** Unpacks `entries` into a fresh directory under a fresh parent; returns both. */
async function unpack(entries: TarEntry[], options: { end?: boolean; maxBytes?: number } = {}) {
  const parent = join(root, String(n++));
  const target = join(parent, "package");
  await mkdir(target, { recursive: true });
  const tarball = join(parent, "p.tgz");
  await writeFile(tarball, tgz(entries, options));
  const run = () =>
    untarPackage(tarball, target, { stripRoot: "package", maxBytes: options.maxBytes ?? 1e9 });
  return { parent, target, run };
}

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    out.push(join(e.parentPath, e.name).slice(dir.length + 1) + (e.isDirectory() ? "/" : ""));
  }
  return out.sort();
}

describe("untarPackage", () => {
  it("unpacks files and directories under the root, executables 0755 and the rest 0644", async () => {
    const big = Buffer.alloc(70_000, 7);
    const { target, run } = await unpack([
      { name: "package/", type: "5", mode: 0o755 },
      { name: "package/package.json", content: '{"name":"x"}' },
      { name: "package/bin/tool", content: big, mode: 0o775 },
      { name: "package/empty" },
      { name: "deep/er/file.txt", prefix: "package/very", content: "in the prefix" },
    ]);
    expect(await run()).toEqual({ files: 4, bytes: 12 + 70_000 + 13 });
    expect(await tree(target)).toEqual([
      "bin/",
      "bin/tool",
      "empty",
      "package.json",
      "very/",
      "very/deep/",
      "very/deep/er/",
      "very/deep/er/file.txt",
    ]);
    expect((await readFile(join(target, "bin/tool"))).equals(big)).toBe(true);
    expect((await stat(join(target, "bin/tool"))).mode & 0o777).toBe(0o755);
    expect((await stat(join(target, "package.json"))).mode & 0o777).toBe(0o644);
  });

  it("takes a long name from a pax header and a GNU long-name entry", async () => {
    const long = `package/${"d".repeat(120)}/f.js`;
    const { target, run } = await unpack([
      { name: "PaxHeader", type: "x", content: paxRecords({ mtime: "1", path: long }) },
      { name: "truncated-name", content: "pax" },
      { name: "././@LongLink", type: "L", content: `package/${"g".repeat(110)}\0` },
      { name: "short", content: "gnu" },
    ]);
    await run();
    expect(await readFile(join(target, "d".repeat(120), "f.js"), "utf8")).toBe("pax");
    expect(await readFile(join(target, "g".repeat(110)), "utf8")).toBe("gnu");
  });

  const refusals: Array<[string, TarEntry[], string]> = [
    ["a symlink", [{ name: "package/l", type: "2", linkname: "/etc/passwd" }], "is a link"],
    ["a hard link", [{ name: "package/l", type: "1", linkname: "package/x" }], "is a link"],
    ["a device", [{ name: "package/d", type: "3" }], 'of type "3"'],
    ["a fifo", [{ name: "package/f", type: "6" }], 'of type "6"'],
    ["an absolute path", [{ name: "/etc/cron.d/x", content: "x" }], "is an absolute path"],
    ["a .. component", [{ name: "package/../../x", content: "x" }], 'climbs out with ".."'],
    [
      "a .. hidden in a pax path",
      [
        { name: "PaxHeader", type: "x", content: paxRecords({ path: "package/a/../../../x" }) },
        { name: "package/innocent", content: "x" },
      ],
      'climbs out with ".."',
    ],
    [
      "a .. in the ustar prefix",
      [{ name: "x", prefix: "package/../..", content: "x" }],
      "climbs out",
    ],
    ["an entry outside the root", [{ name: "other/x", content: "x" }], "is not under package/"],
    ["a backslash path", [{ name: "package\\..\\x", content: "x" }], "bad characters"],
    [
      "a duplicate entry (a second write through the first)",
      [
        { name: "package/a", content: "one" },
        { name: "package/a", content: "two" },
      ],
      "appears twice",
    ],
    ["a corrupt header", [{ name: "package/a", content: "x", badChecksum: true }], "checksum"],
  ];

  it.each(refusals)(
    "refuses %s, writing nothing outside the target",
    async (_, entries, message) => {
      const { parent, run } = await unpack(entries);
      await expect(run()).rejects.toThrow(message);
      expect((await readdir(parent)).sort()).toEqual(["p.tgz", "package"]);
    },
  );

  it("refuses a truncated archive and one larger than the limit", async () => {
    const cut = await unpack([{ name: "package/a", content: "x" }], { end: false });
    await expect(cut.run()).rejects.toThrow("truncated");
    const big = await unpack(
      [
        { name: "package/a", content: Buffer.alloc(600) },
        { name: "package/b", content: Buffer.alloc(600) },
      ],
      { maxBytes: 1000 },
    );
    await expect(big.run()).rejects.toThrow("more than 1000 bytes");
  });

  it("refuses what is not gzip at all", async () => {
    const parent = join(root, "notgz");
    await mkdir(join(parent, "package"), { recursive: true });
    await writeFile(join(parent, "p.tgz"), "<html>proxy login</html>");
    await expect(
      untarPackage(join(parent, "p.tgz"), join(parent, "package"), {
        stripRoot: "package",
        maxBytes: 1e9,
      }),
    ).rejects.toThrow("refused the package: cannot unpack it");
  });
});
