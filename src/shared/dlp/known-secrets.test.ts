import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  base64Fragment,
  MAX_FORMS_PER_SECRET,
  MIN_FRAGMENT_LENGTH,
  NESTING_DEPTH,
  secretSpellings,
  secretVariants,
} from "./known-secrets.js";
import { MAX_NESTING } from "./scan-view.js";
import { createDlpScanner } from "./scanner.js";

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

describe("secretSpellings: ciphers, alphabets, per-character forms, nesting", () => {
  // Letters in both cases, digits, punctuation and a space: every cipher moves something.
  const value = "Tr0ub4dor&3 horse-BATTERY_staple";
  const spellings = secretSpellings({ name: "API_KEY", value });
  const texts = spellings.map((s) => s.text);
  const lowered = new Set(texts.map((t) => t.toLowerCase()));
  /** Whether a form of the secret is inside `whole` (the prefilter folds case). */
  const inside = (whole: string) =>
    texts.some((t) => whole.toLowerCase().includes(t.toLowerCase()));
  const python = (code: string, input: string) => {
    const r = spawnSync("python3", ["-c", code], { input, encoding: "latin1" });
    if (r.status !== 0) throw new Error(`python3: ${r.stderr}`);
    return r.stdout;
  };

  it("has every rot-N over letters, every rot-N over digits, rot18, rot47 and Atbash", () => {
    // An independent decoder: rotate an alphabet string and map through it.
    const shift = (text: string, alphabet: string, n: number) =>
      [...text]
        .map((c) => {
          const i = alphabet.indexOf(c);
          return i < 0 ? c : alphabet[(i + n) % alphabet.length];
        })
        .join("");
    const lower = "abcdefghijklmnopqrstuvwxyz";
    const upper = lower.toUpperCase();
    const digits = "0123456789";
    const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join("");
    const rot = (text: string, letters: number, d: number) =>
      shift(shift(shift(text, lower, letters), upper, letters), digits, d);
    const shifts = [
      ...Array.from({ length: 25 }, (_, n) => [n + 1, 0] as const),
      ...Array.from({ length: 9 }, (_, n) => [0, n + 1] as const),
      [13, 5] as const,
    ];
    for (const [letters, d] of shifts) {
      const form = rot(value, letters, d);
      expect(lowered.has(form.toLowerCase()), `rot${letters}/${d}`).toBe(true);
      expect(rot(form, 26 - letters, (10 - d) % 10)).toBe(value);
    }
    const rot47 = shift(value, printable, 47);
    expect(lowered.has(rot47.toLowerCase())).toBe(true);
    expect(shift(rot47, printable, 47)).toBe(value);
    const atbash = [...value]
      .map((c) => {
        const i = lower.indexOf(c.toLowerCase());
        if (i < 0) return c;
        const m = lower[25 - i] as string;
        return c === c.toLowerCase() ? m : m.toUpperCase();
      })
      .join("");
    expect(lowered.has(atbash.toLowerCase())).toBe(true);
  });

  /** Each of `wholes` encoded by Python's base64 module, one call for all: `[[...forms]]`. */
  const pythonEncodings = (wholes: string[], encoders: string[]) =>
    JSON.parse(
      python(
        `import base64,json,sys;print(json.dumps([[e.decode() for e in (${encoders.join(",")})] for d in [w.encode("latin1") for w in json.load(sys.stdin)]]))`,
        JSON.stringify(wholes),
      ),
    ) as string[][];

  it("has a base32 and base32hex fragment inside Python's encoding at all 5 alignments", {
    timeout: 60_000,
  }, () => {
    const wholes = ["", "a", "ab", "abc", "abcd", "abcde"].flatMap((prefix) =>
      ["", "z", "zz", "zzz", "zzzz"].map((suffix) => `${prefix}${value}${suffix}`),
    );
    const encoded = pythonEncodings(wholes, ["base64.b32encode(d)", "base64.b32hexencode(d)"]);
    encoded.forEach(([b32, b32hex], i) => {
      expect(inside(b32 as string), `base32 of ${wholes[i]}`).toBe(true);
      expect(inside(b32hex as string), `base32hex of ${wholes[i]}`).toBe(true);
      // Lowercase and unpadded is the same literal: case is folded, padding is outside it.
      expect(inside((b32 as string).toLowerCase().replace(/=+$/, ""))).toBe(true);
    });
  });

  it("has an Ascii85, Z85 and RFC 1924 fragment inside Python's encoding at all 4 alignments", {
    timeout: 60_000,
  }, () => {
    const rfc1924 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
    const z85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    const toZ85 = (text: string) => [...text].map((c) => z85[rfc1924.indexOf(c)]).join("");
    const wholes = ["", "a", "ab", "abc", "abcd"].flatMap((prefix) =>
      ["", "z", "zz", "zzz"].map((suffix) => `${prefix}${value}${suffix}`),
    );
    const encoded = pythonEncodings(wholes, [
      "base64.a85encode(d,adobe=True)",
      "base64.a85encode(d)",
      "base64.b85encode(d)",
    ]);
    encoded.forEach(([adobe, plain, b85], i) => {
      expect(inside(adobe as string), `Ascii85 <~ of ${wholes[i]}`).toBe(true);
      expect(inside(plain as string), `Ascii85 of ${wholes[i]}`).toBe(true);
      expect(inside(b85 as string), `RFC 1924 of ${wholes[i]}`).toBe(true);
      // Z85 is the same radix in another alphabet: Python's base85 mapped over.
      expect(inside(toZ85(b85 as string)), `Z85 of ${wholes[i]}`).toBe(true);
    });
  });

  it("has code points and bytes as numbers in lists and dumps, and decodes them back", () => {
    const points = [...value].map((c) => c.codePointAt(0) as number);
    for (const between of [",", ", ", " ", ";"]) {
      const decimal = points.join(between);
      expect(texts).toContain(decimal);
      expect(String.fromCodePoint(...decimal.split(between).map(Number))).toBe(value);
      const hex = points.map((p) => `0x${p.toString(16)}`).join(between);
      expect(texts).toContain(hex);
      expect(String.fromCodePoint(...hex.split(between).map(Number))).toBe(value);
    }
    expect(inside(JSON.stringify(points))).toBe(true);
    expect(inside(`[${points.join(", ")}]`)).toBe(true);
    expect(inside(`[${points.map((p) => `0x${p.toString(16)}`).join(", ")}]`)).toBe(true);
  });

  it("has the escapes of common languages, which their own decoders read back", {
    timeout: 60_000,
  }, () => {
    const find = (prefix: string) => texts.filter((t) => t.startsWith(prefix));
    const decodedBy = (forms: string[], decode: (form: string) => string) =>
      forms.some((form) => decode(form) === value);
    expect(decodedBy(find("\\u0"), (f) => JSON.parse(`"${f}"`))).toBe(true);
    expect(decodedBy(find("\\u{"), (f) => new Function(`return "${f}"`)())).toBe(true);
    expect(decodedBy(find("%u"), (f) => unescape(f))).toBe(true);
    const unicodeEscape =
      "import codecs,sys;print(codecs.decode(sys.stdin.read(),'unicode_escape'),end='')";
    expect(decodedBy(find("\\U"), (f) => python(unicodeEscape, f))).toBe(true);
    expect(decodedBy(find("\\1").concat(find("\\0")), (f) => python(unicodeEscape, f))).toBe(true);
    const html = "import html,sys;print(html.unescape(sys.stdin.read()),end='')";
    expect(decodedBy(find("&#x"), (f) => python(html, f))).toBe(true);
    expect(
      decodedBy(
        find("&#").filter((f) => !f.startsWith("&#x")),
        (f) => python(html, f),
      ),
    ).toBe(true);
    const perl = (f: string) =>
      f.replace(/\\x\{([0-9a-f]+)\}/g, (_, h) => String.fromCodePoint(Number.parseInt(h, 16)));
    expect(decodedBy(find("\\x{"), perl)).toBe(true);
  });

  it("has arrays of one-character strings, repeated characters and fullwidth forms", () => {
    const chars = [...value];
    expect(inside(JSON.stringify(chars))).toBe(true);
    expect(inside(`[${chars.map((c) => JSON.stringify(c)).join(", ")}]`)).toBe(true);
    const single = chars.map((c) => `'${c}'`);
    for (const between of [",", ", ", "+", " + "]) {
      const form = texts.find((t) => t === single.join(between));
      expect(form, `'a'${between}'b'`).toBeDefined();
      expect(new Function(`return [${(form as string).replace(/\+/g, ",")}].join("")`)()).toBe(
        value,
      );
    }
    expect(texts).toContain(chars.map((c) => c + c).join(""));
    expect(texts).toContain(chars.map((c) => c + c + c).join(""));
    const wide = texts.find((t) => /^\xef\xbc/.test(t)) as string;
    expect(Buffer.from(wide, "latin1").toString("utf8").normalize("NFKC")).toBe(value);
  });

  it("has every chain of base64 and hex up to the scanner's nesting bound, at every alignment", () => {
    expect(NESTING_DEPTH).toBe(MAX_NESTING);
    // Independent encodings of the secret with neighbours, k times over, in every mix.
    const chains = (depth: number): string[][] =>
      depth === 0
        ? [[]]
        : chains(depth - 1).flatMap((c) => [
            [...c, "base64"],
            [...c, "hex"],
          ]);
    let checked = 0;
    for (const chain of chains(MAX_NESTING)) {
      for (const pads of [
        ["", "", ""],
        ["x", "y", "z"],
        ["xy", "y", ""],
        ["", "yz", "z"],
        ["x", "", "zz"],
      ]) {
        let text = Buffer.from(value);
        chain.forEach((step, i) => {
          const framed = Buffer.concat([Buffer.from(pads[i] as string), text, Buffer.from("!")]);
          text = Buffer.from(framed.toString(step === "hex" ? "hex" : "base64"));
        });
        expect(inside(text.toString("latin1")), `${chain.join("∘")} with ${pads}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(8 * 5);
  });

  it("keeps every form at least 8 bytes and the forms per secret bounded", () => {
    for (const v of ["12345678", value, "x".repeat(200), "pässwörd-€-𝄞-1234"]) {
      const all = [
        ...secretVariants({ name: "S", value: v }),
        ...secretSpellings({ name: "S", value: v }),
      ];
      expect(all.every((f) => f.text.length >= MIN_FRAGMENT_LENGTH)).toBe(true);
      expect(all.length).toBeLessThanOrEqual(MAX_FORMS_PER_SECRET);
    }
  });

  describe("the scanner finds each form in a body", () => {
    const scanner = createDlpScanner({ knownSecrets: [{ name: "API_KEY", value }] });
    const encodings = [...new Set(spellings.map((s) => s.encoding))];
    /** The form in a plain body, and as a JSON string value (escaped as JSON escapes it). */
    const verdicts = (text: string) => [
      scanner.scan({
        body: { bytes: Buffer.from(`note: see ${text} here`, "latin1"), contentType: "text/plain" },
      }).status,
      scanner.scan({
        body: {
          bytes: Buffer.from(JSON.stringify({ note: `see ${text} here` }), "latin1"),
          contentType: "application/json",
        },
      }).status,
    ];
    it.each(encodings)("%s", (encoding) => {
      for (const form of spellings.filter((s) => s.encoding === encoding)) {
        expect(verdicts(form.text), form.text).toEqual(["findings", "findings"]);
      }
    });

    it("and passes the same shapes without the secret", () => {
      for (const form of secretSpellings({ name: "X", value: "Not-The-Secret_value 42" })) {
        expect(verdicts(form.text), form.text).toEqual(["clean", "clean"]);
      }
    });
  });
});
