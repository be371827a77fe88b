import { crc32, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { type BlobLimits, DEFAULT_BLOB_LIMITS, packingOf, unpackBlob } from "./blob-contents.js";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function png(...chunks: Buffer[]): Buffer {
  const ihdr = chunk("IHDR", Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
  return Buffer.concat([SIGNATURE, ihdr, ...chunks, chunk("IEND", Buffer.alloc(0))]);
}

/** A ustar archive of the given members (names up to 100 bytes). */
function tar(members: [name: string, data: Buffer][]): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, data] of members) {
    const header = Buffer.alloc(512);
    header.write(name, 0, "latin1");
    header.write("0000644\0", 100);
    header.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
    header.write("0", 156);
    header.write("ustar\0", 257);
    header.write("00", 263);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

function parts(bytes: Buffer, limits?: BlobLimits): [string, string][] {
  const result = unpackBlob(bytes, limits);
  if (!result.ok) throw new Error(`${result.label} ${result.detail}`);
  return result.parts.map((p) => [p.label, Buffer.from(p.bytes).toString("latin1")]);
}

function refusal(bytes: Buffer, limits?: BlobLimits): string {
  const result = unpackBlob(bytes, limits);
  if (result.ok) throw new Error("unpacked, expected a refusal");
  return `${result.label} ${result.detail}`;
}

describe("unpackBlob", () => {
  it("finds nothing to unpack in plain text or unknown binary", () => {
    expect(parts(Buffer.from("just text\n"))).toEqual([]);
    expect(parts(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]))).toEqual([]);
    // 0x78 0x00 fails zlib's header check, so it is not taken for a stream.
    expect(parts(Buffer.from([0x78, 0x00, 1, 2, 3]))).toEqual([]);
  });

  it("inflates gzip, multi-member gzip and zlib, and looks inside what comes out", () => {
    expect(parts(gzipSync("hello"))).toEqual([["gzip content", "hello"]]);
    expect(parts(Buffer.concat([gzipSync("one "), gzipSync("two")]))).toEqual([
      ["gzip content", "one two"],
    ]);
    expect(parts(deflateSync("state"))).toEqual([["zlib content", "state"]]);
    expect(parts(gzipSync(gzipSync("inner")))).toEqual([
      ["gzip content", gzipSync("inner").toString("latin1")],
      ["gzip content in gzip content", "inner"],
    ]);
  });

  it("refuses gzip a lenient reader would still read: broken checksum, truncation, trailing bytes", () => {
    const broken = gzipSync("the value");
    broken[broken.length - 8] = (broken[broken.length - 8] as number) ^ 0xff;
    expect(refusal(broken)).toBe(
      "gzip content is not valid gzip data, so the gate cannot read what it holds",
    );
    const whole = gzipSync("a longer value that spans a few bytes");
    expect(refusal(whole.subarray(0, whole.length - 6))).toMatch(/^gzip content is not valid/);
    expect(refusal(Buffer.concat([whole, Buffer.from("junk")]))).toMatch(
      /^gzip content is not valid/,
    );
  });

  it("bounds inflation by size, by ratio to the file, by depth and by parts", () => {
    const small: BlobLimits = { ...DEFAULT_BLOB_LIMITS, maxExpandedBytes: 64 * 1024 };
    expect(refusal(gzipSync(Buffer.alloc(65 * 1024)), small)).toBe(
      "gzip content inflates past 65536 bytes (the most the gate unpacks for this file)",
    );
    // 8 MiB of zeros packs into a few KiB: past 1000 times the file (and the 1 MiB floor).
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    expect(bomb.length * 1000).toBeLessThan(8 * 1024 * 1024);
    expect(refusal(bomb)).toMatch(/^gzip content inflates past \d+ bytes/);
    let nested: Buffer = Buffer.from("deep");
    for (let i = 0; i < 5; i++) nested = gzipSync(nested);
    expect(refusal(nested)).toBe(
      "gzip content in gzip content in gzip content in gzip content in gzip content is packed too many layers deep",
    );
    expect(refusal(gzipSync(gzipSync("x")), { ...DEFAULT_BLOB_LIMITS, maxParts: 1 })).toBe(
      "gzip content in gzip content the file holds more than 1 packed parts",
    );
  });

  it("reads PNG text chunks: tEXt, zTXt, iTXt (both ways) and iCCP", () => {
    const image = png(
      chunk("tEXt", Buffer.from("Title\0plain words")),
      chunk("zTXt", Buffer.concat([Buffer.from("Comment\0\0"), deflateSync("packed words")])),
      chunk("iTXt", Buffer.from("Author\0\0\0en\0Autor\0open words")),
      chunk(
        "iTXt",
        Buffer.concat([Buffer.from("Note\0\x01\0de\0Notiz\0"), deflateSync("hidden words")]),
      ),
      chunk("iCCP", Buffer.concat([Buffer.from("icc\0\0"), deflateSync("profile words")])),
      chunk("IDAT", deflateSync(Buffer.from("\0pixel words"))),
    );
    expect(parts(image)).toEqual([
      ["PNG tEXt chunk", "Title\0plain words"],
      ["PNG zTXt chunk", "Comment"],
      ["PNG zTXt chunk", "packed words"],
      ["PNG iTXt chunk", "Author\0\0\0en\0Autor"],
      ["PNG iTXt chunk", "open words"],
      ["PNG iTXt chunk", "Note\0\x01\0de\0Notiz"],
      ["PNG iTXt chunk", "hidden words"],
      ["PNG iCCP chunk", "icc"],
      ["PNG iCCP chunk", "profile words"],
      ["PNG image data", "\0pixel words"],
    ]);
  });

  it("looks inside any other PNG chunk, and past IEND, when what is there is packed", () => {
    const image = Buffer.concat([
      png(chunk("prVt", gzipSync("private words")), chunk("abcd", Buffer.from("plain"))),
      gzipSync("after the end"),
    ]);
    expect(parts(image)).toEqual([
      ["gzip content in PNG prVt chunk", "private words"],
      ["gzip content in data after the PNG end", "after the end"],
    ]);
  });

  it("refuses a PNG it cannot walk or whose compressed chunk does not inflate", () => {
    const cut = png(chunk("tEXt", Buffer.from("Title\0words")));
    expect(refusal(cut.subarray(0, cut.length - 20))).toBe(
      "PNG tEXt chunk runs past the end of the file",
    );
    expect(refusal(png(chunk("zTXt", Buffer.from("Comment\0\0not zlib at all"))))).toBe(
      "zlib content in PNG zTXt chunk is not valid zlib data, so the gate cannot read what it holds",
    );
    expect(refusal(png(chunk("zTXt", Buffer.from("no terminator"))))).toBe(
      "PNG zTXt chunk has no keyword terminator",
    );
    expect(refusal(png(chunk("iTXt", Buffer.from("Key\0\x01\0"))))).toBe(
      "PNG iTXt chunk is missing one of its NUL separators",
    );
  });

  it("walks tar archives into their packed members only", () => {
    const archive = tar([
      ["README", Buffer.from("plain member")],
      ["data.gz", gzipSync("packed member")],
      ["logo.png", png(chunk("zTXt", Buffer.concat([Buffer.from("c\0\0"), deflateSync("z")])))],
    ]);
    expect(packingOf(archive)).toBe("tar");
    expect(parts(gzipSync(archive)).map(([label]) => label)).toEqual([
      "gzip content",
      "gzip content in tar member #2 in gzip content",
      "PNG zTXt chunk in tar member #3 in gzip content",
      "PNG zTXt chunk in tar member #3 in gzip content",
    ]);
    expect(refusal(archive.subarray(0, 520))).toBe(
      "tar member #1 runs past the end of the archive",
    );
  });
});
