import { crc32, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
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

/** A zip header (local or central) whose shared fields start at `at`, in the same order. */
function zipHeader(
  layout: { length: number; signature: number; at: number },
  fields: {
    flags: number;
    method: number;
    crc: number;
    packed: Buffer;
    size: number;
    name: Buffer;
  },
): Buffer {
  const { length, signature, at } = layout;
  const header = Buffer.alloc(length);
  header.writeUInt32LE(signature, 0);
  header.writeUInt16LE(fields.flags, at);
  header.writeUInt16LE(fields.method, at + 2);
  header.writeUInt32LE(fields.crc, at + 8);
  header.writeUInt32LE(fields.packed.length, at + 12);
  header.writeUInt32LE(fields.size, at + 16);
  header.writeUInt16LE(fields.name.length, at + 20);
  return header;
}

/** A zip archive; `hidden` members get a local header but no central directory entry. */
function zip(
  members: { name: string; data: Buffer; method?: 0 | 8; flags?: number; hidden?: boolean }[],
): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const method = m.method ?? 8;
    const data = method === 8 ? deflateRawSync(m.data) : m.data;
    const name = Buffer.from(m.name);
    const fields = {
      flags: m.flags ?? 0,
      method,
      crc: crc32(m.data),
      packed: data,
      name,
      size: m.data.length,
    };
    const local = zipHeader({ length: 30, signature: 0x04034b50, at: 6 }, fields);
    if (!m.hidden) {
      const entry = zipHeader({ length: 46, signature: 0x02014b50, at: 8 }, fields);
      entry.writeUInt32LE(offset, 42);
      central.push(entry, name);
    }
    locals.push(local, name, data);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(central.length / 2, 8);
  end.writeUInt16LE(central.length / 2, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
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

  it("inflates deflated zip members and looks into stored ones that are packed", () => {
    const archive = zip([
      { name: "word/document.xml", data: Buffer.from("<w>document words</w>") },
      { name: "README", data: Buffer.from("stored plain"), method: 0 },
      { name: "inner.gz", data: gzipSync("stored packed"), method: 0 },
    ]);
    expect(parts(archive)).toEqual([
      ["zip member #1", "<w>document words</w>"],
      ["gzip content in zip member #3", "stored packed"],
    ]);
  });

  it("refuses a zip member it cannot read or the directory does not list", () => {
    const plain = { name: "a", data: Buffer.from("words") };
    expect(refusal(zip([plain, { ...plain, name: "b", hidden: true }]))).toBe(
      "zip archive holds a member its central directory does not list",
    );
    expect(refusal(zip([{ ...plain, flags: 1 }]))).toBe(
      "zip member #1 is encrypted, so the gate cannot read it",
    );
    expect(refusal(zip([{ ...plain, method: 0 }]).subarray(0, 40))).toBe(
      "zip archive has no end-of-archive record",
    );
    const bzip = zip([{ ...plain, method: 0 }]);
    bzip.writeUInt16LE(12, bzip.indexOf("PK\x01\x02", 0, "latin1") + 10);
    expect(refusal(bzip)).toBe(
      "zip member #1 uses compression method 12, which the gate cannot read",
    );
  });

  it("refuses packings it recognises and cannot open, at any depth", () => {
    const xz = Buffer.from("fd377a585a000004e6d6b446", "hex");
    expect(refusal(xz)).toBe(
      "xz content is xz data, which the gate cannot unpack to scan; push it as gzip or unpacked",
    );
    const bzip2 = Buffer.from("BZh91AY&SY\x00\x01", "latin1");
    expect(refusal(gzipSync(bzip2))).toMatch(/^bzip2 content in gzip content is bzip2 data/);
    expect(refusal(Buffer.from("28b52ffd2400", "hex"))).toMatch(/^zstd content is zstd data/);
    // Text that merely starts like one is not taken for it.
    expect(parts(Buffer.from("BZh9 is how bzip2 files start"))).toEqual([]);
  });
});
