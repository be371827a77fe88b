import { describe, expect, it } from "vitest";
import { decodePercent, looksLikeJson, unescapeJsonText } from "./body-decoding.js";

const latin1OfUtf8 = (s: string) => Buffer.from(s, "utf8").toString("latin1");

describe("unescapeJsonText", () => {
  it("decodes what JSON.parse would, as UTF-8 bytes", () => {
    const value = 'a"b\\c/d\n\t\b\f\r é ☕ 😀 \u0001';
    const text = JSON.stringify(value).replace(/é/g, "\\u00e9").replace(/\//g, "\\/");
    expect(unescapeJsonText(latin1OfUtf8(text))).toBe(`"${latin1OfUtf8(value)}"`);
  });

  it("leaves text without escapes, and broken escapes, alone", () => {
    expect(unescapeJsonText('{"a":1}')).toBe('{"a":1}');
    expect(unescapeJsonText("\\u12x4 \\q \\")).toBe("u12x4 q \\");
  });
});

describe("decodePercent", () => {
  it("decodes escapes to bytes and '+' only in form mode", () => {
    expect(decodePercent("a%20b+c%zz%C3%A9")).toBe("a b+c%zz\u00c3\u00a9");
    expect(decodePercent("a+b", true)).toBe("a b");
  });
});

describe("looksLikeJson", () => {
  it("trusts JSON media types and sniffs the first byte otherwise", () => {
    expect(looksLikeJson("application/vnd.api+json", Buffer.from("x"))).toBe(true);
    expect(looksLikeJson("text/plain", Buffer.from(" \n[1]"))).toBe(true);
    expect(looksLikeJson(undefined, Buffer.from("a=1"))).toBe(false);
  });
});
