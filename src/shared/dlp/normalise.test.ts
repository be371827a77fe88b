import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  decodeQuotedPrintable,
  inflateGzipAt,
  isInvisible,
  MARKERS,
  stripInvisible,
  transferEncodedParts,
  utf16Text,
} from "./normalise.js";

const utf8 = (s: string) => Buffer.from(s, "utf8").toString("latin1");

describe("stripInvisible", () => {
  it("drops every invisible code point and keeps visible ones", () => {
    const invisible = [0xad, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x180e, 0xfe0f, 0xe0041];
    for (const cp of invisible) {
      expect(isInvisible(cp)).toBe(true);
      expect(stripInvisible(utf8(`ab${String.fromCodePoint(cp)}cd`)), cp.toString(16)).toBe("abcd");
    }
    expect(stripInvisible(utf8("naïve — “quoted” …"))).toBe(utf8("naïve — “quoted” …"));
  });

  it("has a marker for each invisible code point", () => {
    const markers = new Set(MARKERS.filter((m) => m.kind === "invisible").map((m) => m.text));
    expect(markers.has(utf8("\u200b"))).toBe(true);
    expect(markers.has(utf8("\u00ad"))).toBe(true);
    expect(markers.has(utf8("—"))).toBe(false);
  });
});

describe("utf16Text", () => {
  it("reads ASCII runs little- and big-endian, at either alignment", () => {
    const le = Buffer.from("token=ghp_abc", "utf16le");
    const be = Buffer.from(le).swap16();
    expect(utf16Text(le)).toContain("token=ghp_abc");
    expect(utf16Text(be)).toContain("token=ghp_abc");
    expect(utf16Text(Buffer.concat([Buffer.from([0x99]), le]))).toContain("token=ghp_abc");
  });

  it("skips invisible code units inside a run", () => {
    const le = Buffer.from("ab\u200bcd\u00adef", "utf16le");
    expect(utf16Text(le)).toContain("abcdef");
  });

  it("finds nothing in ASCII text or random bytes", () => {
    expect(utf16Text(Buffer.from("plain ascii text"))).toBe("");
    expect(utf16Text(Buffer.from([0, 0, 0, 0xff, 0xfe, 0]))).toBe("");
  });
});

describe("transferEncodedParts", () => {
  const secret = "a secret line that is longer than seventy-six characters once it is encoded";
  const b64 = Buffer.from(secret).toString("base64");
  const wrapped = b64.replace(/.{1,76}/g, "$&\r\n");

  it("decodes a base64 part wrapped at 76 columns, up to the next delimiter", () => {
    const body = [
      "--XyZ",
      'Content-Disposition: form-data; name="a"',
      "Content-Transfer-Encoding: base64",
      "",
      wrapped,
      "--XyZ",
      'Content-Disposition: form-data; name="b"',
      "",
      "zzzz",
      "--XyZ--",
      "",
    ].join("\r\n");
    const parts = transferEncodedParts(body);
    expect(parts.map((p) => [p.encoding, p.bytes.toString("latin1")])).toEqual([
      ["base64", secret],
    ]);
  });

  it("decodes quoted-printable, soft line breaks and =XX, in any header case", () => {
    const qp = `a secret=\r\n with =3D and =\nbreaks`;
    const body = `--b\ncontent-transfer-encoding: Quoted-Printable\n\n${qp}\n--b--\n`;
    expect(transferEncodedParts(body)[0]?.bytes.toString("latin1")).toBe(
      "a secret with = and breaks\n",
    );
    expect(decodeQuotedPrintable("x=41=4a=\r\ny")).toBe("xAJy");
  });

  it("reads a part with no delimiter to the end", () => {
    const body = `Content-Transfer-Encoding: base64\r\n\r\n${wrapped}`;
    expect(transferEncodedParts(body)[0]?.bytes.toString("latin1")).toBe(secret);
  });

  it("leaves other encodings alone", () => {
    expect(transferEncodedParts("Content-Transfer-Encoding: 8bit\r\n\r\nabc")).toEqual([]);
  });
});

describe("inflateGzipAt", () => {
  const gz = gzipSync(Buffer.from("inside the stream"));

  it("inflates a raw member in the middle of other bytes", () => {
    const text = `before ${gz.toString("latin1")} after`;
    const out = inflateGzipAt(text, 7, false, 1024);
    expect(out.ok && out.bytes.toString()).toBe("inside the stream");
    const bytes = Buffer.from(text, "latin1");
    const fromBytes = inflateGzipAt(bytes, 7, false, 1024);
    expect(fromBytes.ok && fromBytes.bytes.toString()).toBe("inside the stream");
  });

  it("inflates a base64 member, and a truncated one as far as it goes", () => {
    const text = `x=${gz.toString("base64")};`;
    const out = inflateGzipAt(text, 2, true, 1024);
    expect(out.ok && out.bytes.toString()).toBe("inside the stream");
    const big = gzipSync(Buffer.from("0123456789".repeat(1000)));
    const cut = inflateGzipAt(big.subarray(0, big.length - 12), 0, false, 1 << 20);
    expect(cut.ok && cut.bytes.length).toBeGreaterThan(1000);
  });

  it("says too-large for a bomb and corrupt for what is not gzip", () => {
    expect(inflateGzipAt(gzipSync(Buffer.alloc(1 << 20)), 0, false, 1024)).toEqual({
      ok: false,
      reason: "too-large",
    });
    expect(inflateGzipAt("\x1f\x8b\x08\x00cut", 0, false, 1024)).toEqual({
      ok: false,
      reason: "corrupt",
    });
  });
});

describe("MARKERS for compressed streams", () => {
  it("hold every zlib header and bzip2's block magic, exactly as the bytes are", () => {
    const texts = (kind: string) => MARKERS.filter((m) => m.kind === kind).map((m) => m.text);
    expect(texts("zlib").map((t) => Buffer.from(t, "latin1").toString("hex"))).toEqual([
      "7801",
      "785e",
      "789c",
      "78da",
    ]);
    expect(texts("bzip2")).toEqual(["1AY&SY"]);
  });
});
