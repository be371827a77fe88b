import { isUtf8 } from "node:buffer";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invalidUtf8Offset } from "../shared/bounded-text-file.js";
import { InputError } from "../shared/errors.js";
import { decodeManifest, readManifestFile } from "./manifest-file.js";
import { MAX_MANIFEST_BYTES } from "./manifest-limits.js";

function refusal(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error("expected an InputError");
}

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

describe("decodeManifest", () => {
  it("refuses bytes that are not UTF-8, naming line, column and offset", () => {
    // "café" saved as Latin-1.
    const error = refusal(() =>
      decodeManifest(bytes("---\nenv:\n  A: caf", [0xe9], "\n---\n"), "~/a.md"),
    );
    expect(error.message).toBe("~/a.md:3:9: byte 0xe9 at offset 17 is not UTF-8");
    expect(error.hint).toBe("save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)");
  });

  it.each([
    ["a lone continuation byte", [0x80]],
    ["an overlong '/'", [0xc0, 0xaf]],
    ["an overlong three-byte form", [0xe0, 0x80, 0xaf]],
    ["a UTF-16 surrogate", [0xed, 0xa0, 0x80]],
    ["a code point past U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ["a sequence cut short", [0xe2, 0x82]],
    ["a lead byte that never starts one", [0xff]],
  ])("refuses %s", (_, seq) => {
    const input = bytes("---\na: x", seq, "\n---\n");
    expect(refusal(() => decodeManifest(input, "a.md")).message).toBe(
      `a.md:2:5: byte 0x${seq[0]?.toString(16)} at offset 8 is not UTF-8`,
    );
    expect(invalidUtf8Offset(input)).toBe(8);
  });

  it("agrees with Node on well-formed text of every length", () => {
    const text = "---\na: é € 𝄞 ü\n---\n";
    expect(decodeManifest(Buffer.from(text), "a.md")).toBe(text);
    expect(invalidUtf8Offset(Buffer.from(text))).toBe(-1);
    expect(isUtf8(Buffer.from(text))).toBe(true);
  });

  it("refuses a NUL byte", () => {
    const error = refusal(() => decodeManifest(bytes("---\na: x", [0], "y\n---\n"), "a.md"));
    expect(error.message).toBe("a.md:2:5: a NUL byte at offset 8; a manifest is text");
    expect(error.hint).toBe("remove the NUL bytes; a binary file is not a manifest");
  });

  it("accepts a byte-order mark", () => {
    expect(decodeManifest(bytes([0xef, 0xbb, 0xbf], "---\n---\n"), "a.md")).toBe(
      "\uFEFF---\n---\n",
    );
  });
});

describe("readManifestFile", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "claude-bottle-manifest-file-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const message = (promise: Promise<unknown>) =>
    promise.then(
      () => "resolved",
      (e: unknown) => (e instanceof InputError ? e.message : `not an InputError: ${e}`),
    );

  it("refuses a file over the size cap without reading it", async () => {
    const path = join(dir, "big.md");
    await writeFile(path, `---\n---\n${"x".repeat(MAX_MANIFEST_BYTES)}`);
    expect(await message(readManifestFile(path, "~/big.md"))).toBe(
      `~/big.md: ${MAX_MANIFEST_BYTES + 8} bytes, over the 262144 bytes (256 KiB) a manifest may have`,
    );
  });

  it("reads a file exactly at the cap", async () => {
    const path = join(dir, "full.md");
    await writeFile(path, `---\nbottle: dev\n---\n${"x".repeat(MAX_MANIFEST_BYTES - 20)}`);
    const file = await readManifestFile(path, "~/full.md");
    expect(file?.source.value).toEqual({ bottle: "dev" });
  });

  it("refuses what is not a regular file: a device, a FIFO", async () => {
    const zero = join(dir, "zero.md");
    await symlink("/dev/zero", zero);
    expect(await message(readManifestFile(zero, "~/zero.md"))).toBe(
      "~/zero.md: is not a regular file",
    );
    const fifo = join(dir, "fifo.md");
    execFileSync("mkfifo", [fifo]);
    expect(await message(readManifestFile(fifo, "~/fifo.md"))).toBe(
      "~/fifo.md: is not a regular file",
    );
  });

  it("is undefined when there is no file", async () => {
    expect(await readManifestFile(join(dir, "none.md"), "~/none.md")).toBeUndefined();
  });
});
