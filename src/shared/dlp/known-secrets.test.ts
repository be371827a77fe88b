import { describe, expect, it } from "vitest";
import { base64Fragment, secretVariants } from "./known-secrets.js";

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
