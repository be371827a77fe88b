import { createHash, randomBytes } from "node:crypto";
import { deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FAKE_CREDENTIALS } from "../../../test/support/fixtures/fake-credentials.js";
import { decodeRun, findRuns, holdsRun, MIN_RUN_LENGTH } from "./generic-runs.js";
import { MAX_NESTING } from "./scan-view.js";
import { createDlpScanner } from "./scanner.js";

const TOKEN = FAKE_CREDENTIALS["github-pat"]?.hit ?? "";
const SECRET = "hunter2-is-not-a-good-password";
const scanner = createDlpScanner({ knownSecrets: [{ name: "DB_PASSWORD", value: SECRET }] });

function verdictOf(text: string | Buffer, contentType = "text/plain"): string[] {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  const v = scanner.scan({ body: { bytes, contentType } });
  expect(JSON.stringify(v)).not.toContain(TOKEN.slice(4));
  expect(JSON.stringify(v)).not.toContain(SECRET);
  if (v.status === "unscannable") return [`unscannable:${v.reason}`];
  return v.status === "findings" ? v.findings.map((f) => f.ruleId) : ["clean"];
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const hex = (s: string) => Buffer.from(s).toString("hex");
const b64url = (s: string) => Buffer.from(s).toString("base64url");

function chain(value: string, encoders: readonly ((s: string) => string)[]): string {
  return encoders.reduce((s, encode) => encode(s), value);
}

describe("findRuns", () => {
  it("finds runs of the alphabets at least MIN_RUN_LENGTH long, and wrapped ones whole", () => {
    const run = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=";
    const text = `a short word, ${run} and identifiers like getElementById`;
    const spans = findRuns(text);
    expect(spans).toEqual([text.indexOf(run), text.indexOf(run) + run.length]);
    const wrapped = b64("x".repeat(200)).replace(/.{1,76}/g, "$&\r\n");
    expect(findRuns(`k: ${wrapped}`)).toEqual([3, 3 + wrapped.trimEnd().length]);
    expect(findRuns("x".repeat(MIN_RUN_LENGTH - 1))).toEqual([]);
  });

  it("finds the same runs as a byte-by-byte reading, at any alignment and length", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";
    const inAlphabet = (c: number) => alphabet.includes(String.fromCharCode(c));
    // The runs as generic-runs.ts defines them, read one byte at a time.
    const expected = (b: Uint8Array): number[] => {
      const spans: number[] = [];
      let i = 0;
      while (i < b.length) {
        if (!inAlphabet(b[i] as number)) {
          i++;
          continue;
        }
        let j = i;
        while (j < b.length && inAlphabet(b[j] as number)) j++;
        if (j - i < MIN_RUN_LENGTH) {
          i = j;
          continue;
        }
        let lineStart = i;
        let end = j;
        let next: number;
        for (;;) {
          next = end;
          while (next < b.length && b[next] === 0x3d && next - end < 2) next++;
          if (end - lineStart < 40) break;
          let after = next;
          if (b[after] === 0x0d) after++;
          if (after + 1 >= b.length || b[after] !== 0x0a || !inAlphabet(b[after + 1] as number))
            break;
          lineStart = after + 1;
          end = lineStart;
          while (end < b.length && inAlphabet(b[end] as number)) end++;
        }
        spans.push(i, next);
        i = next;
      }
      return spans;
    };
    let seed = 11;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const piece = (): string => {
      const kind = random(6);
      const word = (length: number) =>
        Array.from({ length }, () => alphabet[random(alphabet.length)]).join("");
      if (kind === 0) return word(MIN_RUN_LENGTH - 6 + random(14));
      if (kind === 1) return `${word(60 + random(20))}\r\n${word(60)}==\n${word(10)}`;
      if (kind === 2) return "=".repeat(random(4));
      return ` ${word(1 + random(9))}${" .,;(){}\n"[random(9)]}`;
    };
    const pool = Buffer.alloc(1 << 16);
    for (let round = 0; round < 300; round++) {
      const text = Array.from({ length: 5 + random(120) }, piece).join("");
      const at = random(8);
      const bytes = pool.subarray(at, at + text.length);
      bytes.write(text, "latin1");
      expect(findRuns(bytes), `round ${round}`).toEqual(expected(bytes));
      expect(findRuns(text), `round ${round} as text`).toEqual(expected(bytes));
    }
  });

  it("decodes hex as hex when it reads as text, and base64 in both alphabets", () => {
    expect(decodeRun(hex("plain text, long enough"))[0]?.bytes.toString()).toBe(
      "plain text, long enough",
    );
    expect(decodeRun(b64url("???>>>plain text, long enough"))[0]?.bytes.toString()).toBe(
      "???>>>plain text, long enough",
    );
    expect(holdsRun(b64(TOKEN))).toBe(true);
  });
});

describe("chains of base64 and hex", () => {
  it("reads a credential and a known secret base64'd up to the bound", () => {
    for (let depth = 1; depth <= MAX_NESTING; depth++) {
      const encoders = Array.from({ length: depth }, () => b64);
      expect(verdictOf(`data=${chain(`t=${TOKEN}`, encoders)}`), `token ${depth}`).toEqual([
        "github-pat",
      ]);
      expect(verdictOf(`data=${chain(`s=${SECRET}`, encoders)}`), `secret ${depth}`).toContain(
        "known-secret",
      );
    }
  });

  it("reads hex, base64url and mixed chains up to the bound", () => {
    for (const encoders of [[hex], [hex, b64], [b64, hex, b64url], [b64url, b64url, hex]]) {
      expect(verdictOf(chain(`t=${TOKEN}`, encoders))).toEqual(["github-pat"]);
    }
  });

  it("refuses a chain one past the bound and deeper, up to 30", () => {
    for (const depth of [MAX_NESTING + 1, MAX_NESTING + 2, 10, 30]) {
      const encoders = Array.from({ length: depth }, (_, i) => (i % 3 === 1 ? hex : b64));
      expect(verdictOf(chain(`t=${TOKEN}`, encoders)), `depth ${depth}`).toEqual([
        "unscannable:encoding",
      ]);
      expect(
        verdictOf(
          chain(
            `note ${SECRET}`,
            encoders.map(() => b64),
          ),
        ),
        `secret ${depth}`,
      ).not.toEqual(["clean"]);
    }
    // Clean text nested past the bound is refused too: it cannot be read within the bound.
    expect(verdictOf(chain("nothing to see here at all", [b64, b64, b64, b64]))).toEqual([
      "unscannable:encoding",
    ]);
  });

  it("reads base64 of zlib", () => {
    expect(verdictOf(deflateSync(`t=${TOKEN}`).toString("base64"))).toEqual(["github-pat"]);
  });
});

describe("ordinary encoded payloads are one level and pass", () => {
  it("integrity hashes, git SHAs, images, random blobs, wrapped base64 of text", () => {
    const sha512 = `sha512-${createHash("sha512").update("x").digest("base64")}`;
    const sha1 = createHash("sha1").update("x").digest("hex");
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), randomBytes(6000)]);
    const doc = JSON.stringify({
      dist: {
        integrity: sha512,
        shasum: sha1,
        tarball: "https://example.test/pkg/-/pkg-1.0.0.tgz",
      },
      image: { data: png.toString("base64"), media_type: "image/png" },
      blob: randomBytes(30000).toString("base64"),
      notes: b64("Lorem ipsum dolor sit amet, ".repeat(40)).replace(/.{1,76}/g, "$&\n"),
      nested: b64(`{"inner":"${b64("a perfectly ordinary sentence of text")}"}`),
      code: "export function getElementsByTagNameNS(namespaceURI, localName) { return []; }",
    });
    expect(verdictOf(doc, "application/json")).toEqual(["clean"]);
  });
});

describe("compressed files holding binary or encoded blobs are content, not nesting", () => {
  // A PNG's image data is a zlib stream of pixels; inside a tarball (gzip) inside a git pack
  // object (zlib) it sits three containers deep. Pixels are no spelling of text.
  const pixels = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.from("IDAT"),
    deflateSync(pixels),
  ]);

  it("passes an image three containers deep, and does not read its pixels whole", () => {
    const packObject = deflateSync(gzipSync(Buffer.concat([Buffer.from("tar header\n"), png])));
    expect(verdictOf(packObject, "application/x-git-receive-pack-request")).toEqual(["clean"]);
  });

  it("passes base64 of a binary module in a script inside a tarball inside a pack object", () => {
    const wasm = Buffer.concat([
      Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
      pixels.subarray(0, 50_000),
    ]);
    const script = `module.exports = Buffer.from("${wasm.toString("base64")}", "base64");\n`;
    expect(verdictOf(deflateSync(gzipSync(Buffer.from(script))))).toEqual(["clean"]);
  });

  it("still finds a secret in text at the same depth, and refuses text one container deeper", () => {
    const text = Buffer.from(`password = ${SECRET}\n`);
    const atBound = deflateSync(gzipSync(deflateSync(text)));
    expect(new Set(verdictOf(atBound))).toEqual(new Set(["known-secret"]));
    const past = deflateSync(gzipSync(deflateSync(deflateSync(text))));
    expect(verdictOf(past)).toEqual(["unscannable:encoding"]);
    // A byte before the inner stream does not make it content: the view past the bound is
    // still refused when what it holds is text.
    const shifted = deflateSync(
      gzipSync(deflateSync(Buffer.concat([Buffer.from([0]), deflateSync(text)]))),
    );
    expect(verdictOf(shifted)).not.toEqual(["clean"]);
  });
});
