import { describe, expect, it } from "vitest";
import { base64Fragment, secretSpellings, secretVariants } from "./known-secrets.js";

describe("secretVariants", () => {
  const value = "p@ss word/with+symbols-0123";
  const variants = secretVariants({ name: "DB_PASSWORD", value });
  const texts = variants.map((v) => v.text);

  it("covers verbatim, hex in both cases and URL encodings", () => {
    expect(texts).toContain(value);
    expect(texts).toContain(Buffer.from(value).toString("hex"));
    expect(texts).toContain(Buffer.from(value).toString("hex").toUpperCase());
    expect(texts).toContain(encodeURIComponent(value));
    expect(texts).toContain(encodeURIComponent(value).replace("%20", "+"));
    expect(variants.every((v) => v.secretName === "DB_PASSWORD")).toBe(true);
  });

  it("has a base64 fragment inside the encoding at every alignment, std and url-safe", () => {
    for (const prefix of ["", "x", "xy", "xyz", "wxyz"]) {
      for (const suffix of ["", "!", "!!"]) {
        const whole = Buffer.from(`${prefix}${value}${suffix}`);
        expect(texts.some((t) => whole.toString("base64").includes(t))).toBe(true);
        expect(texts.some((t) => whole.toString("base64url").includes(t))).toBe(true);
      }
    }
  });

  it("cuts the characters shared with unknown neighbours", () => {
    const bytes = Buffer.from("abcdefghij");
    expect(base64Fragment(bytes, 0)).toBe("YWJjZGVmZ2hpa");
    expect(base64Fragment(bytes, 1)).toBe("FiY2RlZmdoaW");
    expect(base64Fragment(bytes, 2)).toBe("hYmNkZWZnaGlq");
  });
});

describe("secretSpellings", () => {
  const value = "p@ss word/with+symbols-0123";
  const spellings = secretSpellings({ name: "DB_PASSWORD", value });
  const texts = spellings.map((s) => s.text);
  const hex = [...Buffer.from(value)].map((b) => b.toString(16).padStart(2, "0"));

  it("covers reversed, UTF-16 both ways and hex with separators", () => {
    expect(texts).toContain([...value].reverse().join(""));
    expect(texts).toContain(Buffer.from(value, "utf16le").toString("latin1"));
    expect(texts).toContain(Buffer.from(value, "utf16le").swap16().toString("latin1"));
    for (const joined of [hex.join(":"), hex.join(" "), hex.map((h) => `\\x${h}`).join("")]) {
      expect(texts).toContain(joined);
    }
  });

  it("has a fragment inside base64 of base64 and base64 of UTF-16LE", () => {
    for (const p of ["", "x", "xy"]) {
      for (const q of ["", "k", "kk"]) {
        const inner = Buffer.from(p + value).toString("base64");
        const twice = Buffer.from(q + inner).toString("base64");
        expect(texts.some((t) => twice.includes(t))).toBe(true);
        const wide = Buffer.concat([Buffer.from(q), Buffer.from(p + value, "utf16le")]);
        expect(texts.some((t) => wide.toString("base64").includes(t))).toBe(true);
      }
    }
  });

  it("repeats no form secretVariants has, and leaves secretVariants as it was", () => {
    const plain = secretVariants({ name: "DB_PASSWORD", value }).map((v) => v.text.toLowerCase());
    expect(texts.filter((t) => plain.includes(t.toLowerCase()))).toEqual([]);
    expect(secretVariants({ name: "X", value }).map((v) => v.encoding)).not.toContain("reversed");
  });
});
