import { describe, expect, it } from "vitest";
import {
  commitFields,
  parseDiffTree,
  parseRefUpdates,
  parseTree,
  printable,
  tagFields,
} from "./git-objects.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const Z = "0".repeat(40);

const fields = (list: { place: string; bytes: Buffer }[]) =>
  list.map((f) => [f.place, f.bytes.toString("latin1")]);

describe("parseRefUpdates", () => {
  it("reads old, new and ref per line, and refuses anything else", () => {
    expect(parseRefUpdates(`${Z} ${A} refs/heads/main\n${B} ${Z} refs/tags/v1\n`)).toEqual([
      { oldId: Z, newId: A, ref: "refs/heads/main" },
      { oldId: B, newId: Z, ref: "refs/tags/v1" },
    ]);
    expect(() => parseRefUpdates(`${Z} ${A}\n`)).toThrow("not <old> <new> <ref>");
    expect(() => parseRefUpdates(`${Z} abc refs/heads/x\n`)).toThrow("not <old> <new> <ref>");
  });
});

describe("commitFields", () => {
  it("gives names, emails, dates, other headers and the message, but not tree or parents", () => {
    const raw = Buffer.from(
      [
        `tree ${A}`,
        `parent ${B}`,
        "author Ada Lovelace <ada@example.test> 1700000000 +0000",
        "committer Bob <bob@example.test> 1700000001 +0100",
        "encoding ISO-8859-1",
        "x-anything-at-all free text",
        "gpgsig -----BEGIN PGP SIGNATURE-----",
        " line two",
        " -----END PGP SIGNATURE-----",
        "",
        "Subject",
        "",
        "Body.",
      ].join("\n"),
    );
    expect(fields(commitFields(raw))).toEqual([
      ["author name", "Ada Lovelace "],
      ["author email", "ada@example.test"],
      ["author date", " 1700000000 +0000"],
      ["committer name", "Bob "],
      ["committer email", "bob@example.test"],
      ["committer date", " 1700000001 +0100"],
      ["commit header encoding", "encoding ISO-8859-1"],
      ["commit header (unknown)", "x-anything-at-all free text"],
      [
        "commit header gpgsig",
        "gpgsig -----BEGIN PGP SIGNATURE-----\nline two\n-----END PGP SIGNATURE-----",
      ],
      ["commit message", "Subject\n\nBody."],
    ]);
  });

  it("keeps an ident it cannot split whole", () => {
    const raw = Buffer.from(`tree ${A}\nauthor no brackets here\n\nm`);
    expect(fields(commitFields(raw)).slice(0, 1)).toEqual([["author", "no brackets here"]]);
  });
});

describe("tagFields", () => {
  it("gives the tag's own name, tagger and message with its target", () => {
    const raw = Buffer.from(
      `object ${A}\ntype commit\ntag v1\ntagger T <t@example.test> 1 +0000\n\nRelease notes\n`,
    );
    const tag = tagFields(raw);
    expect(tag.target).toBe(A);
    expect(tag.name.toString()).toBe("v1");
    expect(fields(tag.fields)).toEqual([
      ["name", "v1"],
      ["tagger name", "T "],
      ["tagger email", "t@example.test"],
      ["tagger date", " 1 +0000"],
      ["message", "Release notes\n"],
    ]);
  });

  it("refuses a tag that names no object", () => {
    expect(() => tagFields(Buffer.from("type commit\ntag v1\n\nm"))).toThrow("no target");
  });
});

describe("parseTree", () => {
  it("reads binary tree entries and refuses a truncated one", () => {
    const id = Buffer.alloc(20, 7);
    const raw = Buffer.concat([Buffer.from("100644 a file\0"), id, Buffer.from("40000 dir\0"), id]);
    expect(parseTree(raw, 20).map((e) => [e.mode, e.name.toString()])).toEqual([
      ["100644", "a file"],
      ["40000", "dir"],
    ]);
    expect(() => parseTree(raw.subarray(0, raw.length - 1), 20)).toThrow("truncated");
  });
});

describe("parseDiffTree", () => {
  it("attributes each change to the commit above it, paths taken as raw bytes", () => {
    const out = Buffer.from(
      [
        A,
        `:000000 100644 ${Z} ${B} A`,
        "new\nline name",
        `:100644 000000 ${B} ${Z} D`,
        "gone",
        B,
        `:100644 100644 ${A} ${B} M`,
        ":odd",
        "",
      ].join("\0"),
    );
    expect(
      parseDiffTree(out).map((e) => [e.commit, e.status, e.blob, e.mode, e.path.toString()]),
    ).toEqual([
      [A, "A", B, "100644", "new\nline name"],
      [A, "D", Z, "000000", "gone"],
      [B, "M", B, "100644", ":odd"],
    ]);
    expect(() => parseDiffTree(Buffer.from(`${A}\0:weird\0x\0`))).toThrow("change line");
    expect(() => parseDiffTree(Buffer.from("not-an-id\0"))).toThrow("unexpected line");
  });
});

describe("printable", () => {
  it("keeps one terminal line of printable ASCII", () => {
    expect(printable("a\nb\x1b[31mc\u00e9")).toBe("a?b?[31mc?");
    expect(printable("x".repeat(10), 4)).toBe("xxxx…");
  });
});
