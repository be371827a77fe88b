import { spawnSync } from "node:child_process";
import { deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FAKE_CREDENTIALS } from "../../../test/support/fixtures/fake-credentials.js";
import {
  decompressStream,
  isKnownBinary,
  looksLikeText,
  mayBeRawDeflate,
} from "./compressed-streams.js";
import { createDlpScanner } from "./scanner.js";

const TOKEN = FAKE_CREDENTIALS["github-pat"]?.hit ?? "";
const SECRET = "hunter2-is-not-a-good-password";
const scanner = createDlpScanner({ knownSecrets: [{ name: "DB_PASSWORD", value: SECRET }] });

/** bzip2 by the system's own compressor: Node has none. */
function bzip2(bytes: Buffer): Buffer {
  const r = spawnSync("bzip2", ["-c"], { input: bytes });
  if (r.status !== 0) throw new Error(`bzip2 -c failed (is bzip2 installed?): ${r.stderr}`);
  return r.stdout;
}

const octets = (bytes: Uint8Array) => ({
  body: { bytes, contentType: "application/octet-stream" },
});

function findings(bytes: Uint8Array): string[] {
  const v = scanner.scan(octets(bytes));
  expect(JSON.stringify(v)).not.toContain(TOKEN.slice(4));
  expect(JSON.stringify(v)).not.toContain(SECRET);
  return v.status === "findings" ? v.findings.map((f) => `${f.ruleId}@${f.location}`) : [v.status];
}

const note = (value: string) => Buffer.from(`note: ${value} and some more text after it`);

describe("decompressStream", () => {
  it("reads zlib, raw deflate and bzip2 back", () => {
    const text = note(SECRET);
    for (const [kind, bytes] of [
      ["zlib", deflateSync(text)],
      ["deflate-raw", deflateRawSync(text)],
      ["bzip2", bzip2(text)],
    ] as const) {
      const out = decompressStream(kind, bytes, 1 << 20);
      expect(out.ok && out.bytes.toString(), kind).toBe(text.toString());
    }
  });

  it("yields what a damaged zlib or bzip2 stream held before the damage", () => {
    const text = Buffer.from(`${SECRET} `.repeat(2000));
    const z = deflateSync(text, { level: 0 });
    z.fill(0xff, z.length - 40);
    const out = decompressStream("zlib", z, 1 << 20);
    expect(out.ok && out.bytes.toString("latin1").includes(SECRET)).toBe(true);
    const b = bzip2(text);
    b.fill(0, b.length - 8);
    const bz = decompressStream("bzip2", b, 1 << 20);
    expect(bz.ok && bz.bytes.toString("latin1").includes(SECRET)).toBe(true);
  });

  it("stops at the bound: too large, not truncated and passed", () => {
    const big = Buffer.alloc(4 << 20, 0x61);
    for (const [kind, bytes] of [
      ["zlib", deflateSync(big)],
      ["deflate-raw", deflateRawSync(big)],
      ["bzip2", bzip2(big)],
    ] as const) {
      expect(decompressStream(kind, bytes, 1 << 20), kind).toEqual({
        ok: false,
        reason: "too-large",
      });
    }
  });

  it("turns garbage away", () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff));
    expect(
      decompressStream("zlib", Buffer.concat([Buffer.from([0x78, 0x9c]), garbage]), 1 << 20).ok,
    ).toBe(false);
    expect(
      decompressStream("bzip2", Buffer.concat([Buffer.from("BZh91AY&SY"), garbage]), 1 << 20).ok,
    ).toBe(false);
  });
});

describe("where raw deflate is tried", () => {
  it("on binary of no known format, not on text or images", () => {
    expect(mayBeRawDeflate(deflateRawSync(note(SECRET)))).toBe(true);
    expect(mayBeRawDeflate(Buffer.from("plain text, é and all"))).toBe(false);
    expect(isKnownBinary(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]))).toBe(true);
    expect(isKnownBinary(gzipSync("x"))).toBe(true);
    expect(looksLikeText(Buffer.from("hello\nworld"))).toBe(true);
    expect(looksLikeText(Buffer.from([0, 1, 2, 3, 200, 201]))).toBe(false);
  });
});

describe("the scanner reads compressed bodies that declare no encoding", () => {
  it("zlib, raw deflate and bzip2, raw and base64'd, with a known secret or a credential", () => {
    for (const [name, value] of [
      ["secret", SECRET],
      ["token", TOKEN],
    ] as const) {
      const text = note(value);
      const rule = name === "secret" ? "known-secret" : "github-pat";
      expect(findings(deflateSync(text)), `zlib ${name}`).toEqual([`${rule}@body~zlib`]);
      expect(findings(deflateRawSync(text)), `raw ${name}`).toEqual([`${rule}@body~deflate`]);
      expect(findings(bzip2(text)), `bzip2 ${name}`).toEqual([`${rule}@body~bzip2`]);
      // After other bytes, and base64'd.
      const prefixed = Buffer.concat([Buffer.from("data\x00\x01"), deflateSync(text)]);
      expect(findings(prefixed), `zlib after bytes ${name}`).toContain(`${rule}@body~zlib`);
      expect(findings(Buffer.from(deflateSync(text).toString("base64")))).toContain(
        `${rule}@body~base64~zlib`,
      );
      expect(findings(Buffer.from(bzip2(text).toString("base64")))).toContain(
        `${rule}@body~base64~bzip2`,
      );
      expect(findings(Buffer.from(deflateRawSync(text).toString("base64")))).toContain(
        `${rule}@body~base64~deflate`,
      );
    }
  });

  it("passes the same shapes without a secret, and images and archives as they are", () => {
    const lorem = Buffer.from(
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(200),
    );
    expect(findings(deflateSync(lorem))).toEqual(["clean"]);
    expect(findings(deflateRawSync(lorem))).toEqual(["clean"]);
    expect(findings(bzip2(lorem))).toEqual(["clean"]);
    expect(findings(gzipSync(lorem))).toEqual(["clean"]);
    const noise = Buffer.from(
      Array.from({ length: 1 << 20 }, (_, i) => ((i * 2654435761) >>> 13) & 0xff),
    );
    expect(findings(noise)).toEqual(["clean"]);
  });

  it("refuses a zlib stream that inflates past the budget", () => {
    const small = createDlpScanner({ maxDecodedBytes: 1 << 20 });
    const v = small.scan(octets(deflateSync(Buffer.alloc(4 << 20, 0x61))));
    expect(v.status).toBe("unscannable");
  });
});
