import { lstat, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { type TarEntry, tarBytes } from "../../test/support/fixtures/tarball-fixture.js";
import { tempDirPerTest } from "../../test/support/unit/temp-dir.js";
import { extractHarvest, HarvestRefused, unsafeComponent } from "./harvest-extract.js";

const root = tempDirPerTest("cb-harvest-");
let sentinel: string;

/** Every path below `dir` with its kind and content: what must not change. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, name);
    const info = await lstat(path);
    out[name] = info.isFile()
      ? `file:${await readFile(path, "utf8")}`
      : info.isDirectory()
        ? "dir"
        : "other";
  }
  return out;
}

async function* chunks(bytes: Buffer, size = 700): AsyncIterable<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const everything = (name: string) => name.split("/");

/** Where every test extracts to: a directory that must not exist yet. */
const kept = () => join(root(), "kept");

type ExtractOptions = Parameters<typeof extractHarvest>[1];

/** Extracts `archive` (entries, or raw bytes) into `kept()`, all of it, bounded at 1 MiB. */
function extract(archive: TarEntry[] | Buffer, options: Partial<ExtractOptions> = {}) {
  const bytes = Buffer.isBuffer(archive) ? archive : tarBytes(archive);
  return extractHarvest(chunks(bytes), {
    dir: kept(),
    maxBytes: 1 << 20,
    place: everything,
    ...options,
  });
}

/** Why an extraction that must fail was refused. */
async function refusal(extraction: Promise<unknown>): Promise<HarvestRefused> {
  const error = await extraction.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HarvestRefused);
  return error as HarvestRefused;
}

const UNSAFE_NAME = "a name with control, invisible or non-UTF-8 characters";

beforeEach(async () => {
  sentinel = join(root(), "sentinel");
  await mkdir(join(sentinel, ".ssh"), { recursive: true });
  await writeFile(join(sentinel, ".ssh", "id_ed25519"), "host key");
  await writeFile(join(sentinel, "notes"), "host notes");
});

describe("extractHarvest", () => {
  it("writes files and directories into a new directory, executables 0755", async () => {
    const dir = kept();
    const result = await extract([
      { name: "work/", type: "5" },
      { name: "work/src/", type: "5" },
      { name: "work/src/a.ts", content: "export {}" },
      { name: "work/run.sh", content: "#!/bin/sh", mode: 0o755 },
      { name: "work/deep/er/b.txt", content: "b" },
    ]);
    expect(result.files).toEqual(["work/src/a.ts", "work/run.sh", "work/deep/er/b.txt"]);
    expect(result.skipped).toEqual([]);
    expect(await readFile(join(dir, "work/src/a.ts"), "utf8")).toBe("export {}");
    expect((await lstat(join(dir, "work/run.sh"))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(dir, "work/src/a.ts"))).mode & 0o777).toBe(0o644);
    expect((await lstat(dir)).mode & 0o777).toBe(0o700);
  });

  const hostile: Array<[string, TarEntry, string]> = [
    [
      "a symlink to a host key",
      { name: "work/key", type: "2", linkname: "/sentinel/.ssh/id_ed25519" },
      "a symbolic link",
    ],
    ["a symlink to /", { name: "work/root", type: "2", linkname: "/" }, "a symbolic link"],
    [
      "a dangling symlink",
      { name: "work/gone", type: "2", linkname: "/nonexistent/x" },
      "a symbolic link",
    ],
    ["a hard link", { name: "work/hard", type: "1", linkname: "/etc/passwd" }, "a hard link"],
    ["a FIFO", { name: "work/fifo", type: "6" }, "a FIFO"],
    ["a character device", { name: "work/null", type: "3" }, "a device file"],
    ["a block device", { name: "work/sda", type: "4" }, "a device file"],
    ["an absolute name", { name: "/etc/cron.d/x", content: "x" }, "an absolute name"],
    [
      "a name that climbs out",
      { name: "work/../../sentinel/notes", content: "x" },
      'a name that climbs out with ".."',
    ],
    ["an escape sequence", { name: "work/\u001b]0;pwned\u0007", content: "x" }, UNSAFE_NAME],
    ["a newline", { name: "work/a\nb", content: "x" }, UNSAFE_NAME],
    ["a bidi override", { name: "work/gnp.\u202eexe", content: "x" }, UNSAFE_NAME],
    ["a bidi isolate", { name: "work/a\u2066b", content: "x" }, UNSAFE_NAME],
    ["a zero-width joiner", { name: "work/a\u200db", content: "x" }, UNSAFE_NAME],
    ["a C1 control", { name: "work/a\u009bb", content: "x" }, UNSAFE_NAME],
    ["a backslash", { name: "work/a\\..\\b", content: "x" }, "a name with a backslash"],
  ];

  it.each(hostile)("passes over %s and changes nothing outside", async (_what, entry, why) => {
    const before = await snapshot(sentinel);
    const dir = kept();
    const result = await extract([
      { name: "work/", type: "5" },
      entry,
      { name: "work/ok", content: "ok" },
    ]);
    expect(result.skipped).toEqual([{ name: entry.name, why }]);
    expect(result.files).toEqual(["work/ok"]);
    expect(await readdir(join(dir, "work"))).toEqual(["ok"]);
    expect(await snapshot(sentinel)).toEqual(before);
    expect((await readdir(root())).sort()).toEqual(["kept", "sentinel"]);
  });

  it("refuses a directory that exists, and never writes through a link standing there", async () => {
    const before = await snapshot(sentinel);
    const dir = kept();
    await symlink(sentinel, dir);
    const error = await refusal(extract([{ name: "work/notes", content: "overwritten" }]));
    expect(error.reason).toBe("exists");
    expect((await lstat(dir)).isSymbolicLink()).toBe(true);
    expect(await snapshot(sentinel)).toEqual(before);
  });

  it("stops at the bound as the bytes arrive, and removes only what it wrote", async () => {
    const big = Buffer.alloc(64 * 1024, 0x61);
    const archive = tarBytes([
      { name: "work/", type: "5" },
      { name: "work/a", content: big },
      { name: "work/b", content: big },
    ]);
    let read = 0;
    async function* counting() {
      for await (const c of chunks(archive, 4096)) {
        read += c.length;
        yield c;
      }
    }
    const error = await refusal(
      extractHarvest(counting(), { dir: kept(), maxBytes: 100 * 1024, place: everything }),
    );
    expect(error.reason).toBe("bound");
    expect(read).toBeLessThan(archive.length);
    expect(read).toBeLessThanOrEqual(100 * 1024 + 4096);
    expect(await readdir(root())).toEqual(["sentinel"]);
  });

  it("counts a sparse-looking file of zeros at its full size", async () => {
    const zeros = Buffer.alloc(300 * 1024);
    const error = await refusal(
      extractHarvest(chunks(tarBytes([{ name: "work/sparse", content: zeros }]), 8192), {
        dir: kept(),
        maxBytes: 256 * 1024,
        place: everything,
      }),
    );
    expect(error.reason).toBe("bound");
    expect(await readdir(root())).toEqual(["sentinel"]);
  });

  it("refuses a truncated or corrupt archive and leaves nothing", async () => {
    for (const bytes of [
      tarBytes([{ name: "work/a", content: "a" }], { end: false }),
      tarBytes([{ name: "work/a", content: "a", badChecksum: true }]),
      Buffer.from("not a tar at all".repeat(64)),
    ]) {
      expect((await refusal(extract(bytes))).reason).toBe("format");
      expect(await readdir(root())).toEqual(["sentinel"]);
    }
  });

  it("keeps the first of two entries with one name, and never a file below a file", async () => {
    const result = await extract([
      { name: "work/a", content: "first" },
      { name: "work/a", content: "second" },
      { name: "work/a/b", content: "below" },
      { name: "work/a/", type: "5" },
    ]);
    expect(await readFile(join(kept(), "work/a"), "utf8")).toBe("first");
    expect(result.skipped.map((s) => s.why)).toEqual([
      "a name that appears twice",
      "a file below a file",
      "a directory where a file is",
    ]);
  });

  it("takes only what `place` names", async () => {
    const result = await extract(
      [
        { name: "work.bundle", content: "bundle" },
        { name: "changes.patch", content: "patch" },
        { name: "authorized_keys", content: "ssh-ed25519 AAAA" },
      ],
      { place: (n) => (n === "work.bundle" || n === "changes.patch" ? [n] : null) },
    );
    expect(result.files).toEqual(["work.bundle", "changes.patch"]);
    expect((await readdir(kept())).sort()).toEqual(["changes.patch", "work.bundle"]);
  });

  it("stops past the entry bound", async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ name: `work/f${i}`, content: "x" }));
    const error = await refusal(extract(entries, { maxEntries: 10 }));
    expect(error.reason).toBe("bound");
    expect(await readdir(root())).toEqual(["sentinel"]);
  });
});

describe("unsafeComponent", () => {
  it.each(["a.txt", "café", "日本語", "with space", "$(x)", "-rf"])("lets %j through", (name) => {
    expect(unsafeComponent(name)).toBeNull();
  });

  it.each(["", ".", "..", "a\u0000b", "a\u007fb", "a\u2028b", "a\ufeffb", "x".repeat(256)])(
    "refuses %j",
    (name) => {
      expect(unsafeComponent(name)).not.toBeNull();
    },
  );
});
