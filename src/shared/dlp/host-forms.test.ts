import { describe, expect, it } from "vitest";
import {
  base32,
  base32Fragment,
  createHostSecretMatcher,
  hostSecretForms,
  hostViews,
} from "./host-forms.js";

const SECRET = "Sk_Live+9fQ2/TokenValue=Zx";
const matcher = createHostSecretMatcher([{ name: "API_KEY", value: SECRET }]);

/** RFC 4648 base32 in lower case without padding, as a name would carry it. */
function b32(bytes: Buffer): string {
  return base32(bytes);
}

describe("base32", () => {
  it("matches the RFC 4648 test vectors (lower case, unpadded)", () => {
    const vectors: [string, string][] = [
      ["", ""],
      ["f", "my"],
      ["fo", "mzxq"],
      ["foo", "mzxw6"],
      ["foob", "mzxw6yq"],
      ["fooba", "mzxw6ytb"],
      ["foobar", "mzxw6ytboi"],
    ];
    for (const [plain, encoded] of vectors) expect(b32(Buffer.from(plain))).toBe(encoded);
    expect(base32(Buffer.from("foobar"), "0123456789abcdefghijklmnopqrstuv")).toBe("cpnmuoj1e8");
  });

  it("cuts a fragment that holds inside the encoding at every alignment", () => {
    const bytes = Buffer.from(SECRET);
    for (let offset = 0; offset < 5; offset++) {
      const fragment = base32Fragment(bytes, offset);
      for (const prefix of ["", "a", "ab", "abc", "abcd", "abcde", "abcdefg"]) {
        for (const suffix of ["", "!", "!!", "!!!", "!!!!"]) {
          if (prefix.length % 5 !== offset) continue;
          expect(b32(Buffer.from(`${prefix}${SECRET}${suffix}`))).toContain(fragment);
        }
      }
    }
  });
});

describe("hostSecretForms", () => {
  it("has the lowercased value, hex, and base32 in both alphabets at five alignments", () => {
    const forms = hostSecretForms({ name: "API_KEY", value: SECRET });
    const encodings = new Set(forms.map((f) => f.encoding));
    expect(encodings).toEqual(new Set(["lowercase", "hex", "base32", "base32hex"]));
    expect(forms.filter((f) => f.encoding === "base32")).toHaveLength(5);
    expect(forms.every((f) => f.text === f.text.toLowerCase())).toBe(true);
  });
});

describe("createHostSecretMatcher", () => {
  const bytes = Buffer.from(SECRET);
  const hex = bytes.toString("hex");
  const encoded = b32(bytes);

  it("finds the secret lowercased, as hex and as base32 under any name", () => {
    expect(matcher.find(`${SECRET.toLowerCase()}.allowed.example`)).toEqual([
      { secretName: "API_KEY", encoding: "lowercase" },
    ]);
    expect(matcher.find(`${hex.slice(0, 60)}.${hex.slice(60)}.allowed.example`)).toContainEqual({
      secretName: "API_KEY",
      encoding: "hex",
    });
    expect(matcher.find(`${encoded}.allowed.example`)).toContainEqual({
      secretName: "API_KEY",
      encoding: "base32",
    });
    expect(matcher.find(`${encoded.toUpperCase()}.ALLOWED.EXAMPLE`)).not.toEqual([]);
  });

  it("finds base32 after any neighbouring bytes (every alignment)", () => {
    for (const prefix of ["", "x", "xy", "xyz", "wxyz"]) {
      const name = `${b32(Buffer.from(prefix + SECRET))}.allowed.example`;
      expect(matcher.find(name), prefix).not.toEqual([]);
    }
  });

  it("finds it cut across labels, or with hyphens put in", () => {
    const cut = encoded.match(/.{1,7}/g)?.join(".") ?? "";
    expect(matcher.find(`${cut}.allowed.example`)).not.toEqual([]);
    const hyphenated = hex.match(/.{1,5}/g)?.join("-") ?? "";
    expect(matcher.find(`${hyphenated}.allowed.example`)).not.toEqual([]);
  });

  it("finds the letters and digits of a secret whose other characters no name can hold", () => {
    const stripped = SECRET.toLowerCase().replace(/[^a-z0-9]/g, "");
    expect(matcher.find(`${stripped.slice(0, 9)}-${stripped.slice(9)}.allowed.example`)).toEqual([
      { secretName: "API_KEY", encoding: "lowercase" },
    ]);
  });

  it("finds nothing in names that do not carry it", () => {
    for (const name of [
      "allowed.example",
      "us-east-1.objects.allowed.example",
      `${hex.slice(0, 12)}.allowed.example`,
      `${encoded.slice(0, 6)}.allowed.example`,
    ]) {
      expect(matcher.find(name), name).toEqual([]);
    }
    expect(createHostSecretMatcher([]).find(`${encoded}.example`)).toEqual([]);
  });

  it("leaves out secrets too short to match safely", () => {
    const short = createHostSecretMatcher([{ name: "PIN", value: "1234567" }]);
    expect(short.find("1234567.example")).toEqual([]);
  });

  it("looks at the name with dots, without them and without any separator", () => {
    expect(hostViews("A-b.C_d")).toEqual(["a-b.c_d", "a-bc_d", "abcd"]);
  });
});
