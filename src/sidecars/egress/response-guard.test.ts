import { PassThrough, type Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  guardedSecrets,
  ResponseGuard,
  TokenWithheldError,
  WHOLE_BODY_BYTES,
  withheldMessage,
} from "./response-guard.js";
import { placeholderOf, scrubText, tokenForms } from "./token-scrub.js";

const TOKEN = "sk-live-9Qh2Xv7LmR4tNc8ZpW3bYd6K";
const guard = new ResponseGuard([TOKEN]);
const forms = tokenForms([TOKEN]);

const rot13 = (s: string) =>
  s.replace(/[a-z]/gi, (c) => {
    const base = c <= "Z" ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });
const percentAll = (s: string) =>
  [...Buffer.from(s)]
    .map((b) => `%${b.toString(16).padStart(2, "0")}`)
    .map((p, i) => (i % 2 === 0 ? p.toUpperCase() : p))
    .join("");

/** Spellings an upstream can hand back that the literal scrub does not replace. */
const SPELLINGS: Record<string, string> = {
  uppercased: TOKEN.toUpperCase(),
  "mixed-case percent-encoding": percentAll(TOKEN),
  "\\u escapes": [...TOKEN]
    .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .join(""),
  "\\x escapes": [...TOKEN].map((c) => `\\x${c.charCodeAt(0).toString(16)}`).join(""),
  "decimal HTML entities": [...TOKEN].map((c) => `&#${c.charCodeAt(0)};`).join(""),
  "hex HTML entities": [...TOKEN].map((c) => `&#X${c.charCodeAt(0).toString(16)};`).join(""),
  "entity over percent": percentAll(TOKEN).replace(/%/g, "&percnt;"),
  reversed: [...TOKEN].reverse().join(""),
  "hex with colons": Buffer.from(TOKEN).toString("hex").match(/../g)?.join(":") ?? "",
  "utf-16le": Buffer.from(TOKEN, "utf16le").toString("latin1"),
  "base64 twice": Buffer.from(Buffer.from(TOKEN).toString("base64")).toString("base64"),
  "base64 of UTF-16": Buffer.from(TOKEN, "utf16le").toString("base64"),
  "gzip, undeclared": gzipSync(Buffer.from(`{"t":"${TOKEN}"}`)).toString("latin1"),
  "the larger half": TOKEN.slice(TOKEN.length >> 1),
};
if (rot13(TOKEN) !== TOKEN) SPELLINGS.rot13 = rot13(TOKEN);

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("ResponseGuard", () => {
  it("passes a body that never carried the token, and the scrub's placeholder", () => {
    expect(guard.check(`{"ok":true,"url":"/v1/x?a=%41&b=&amp;\\u0041"}`, "body")).toBeUndefined();
    const echoed = scrubText(forms, `Bearer ${TOKEN} ${Buffer.from(TOKEN).toString("base64")}`);
    expect(echoed).toContain(placeholderOf(TOKEN.length));
    expect(guard.check(echoed, "body")).toBeUndefined();
  });

  it.each(Object.entries(SPELLINGS))("withholds the token spelled: %s", (_name, spelled) => {
    const body = Buffer.from(`before ${spelled} after`, "latin1");
    // The scrub runs first in egress: the guard reads what it left.
    const scrubbed = scrubText(forms, body.toString("latin1"));
    const found = guard.check(scrubbed, "body");
    expect(found?.kind).toBe("token");
    expect(found?.rule).toMatch(/^known-secret/);
  });

  it("says where and how, never the value", () => {
    const found = guard.check(`x ${TOKEN.toLowerCase()} y`, "body");
    if (found === undefined) throw new Error("not found");
    const message = withheldMessage(found);
    expect(message).toBe(
      "egress withheld a response that carried the route's token in a form it cannot scrub (known-secret/case-changed in body)",
    );
    for (const piece of guardedSecrets([TOKEN])) {
      expect(message.toLowerCase()).not.toContain(piece.value.toLowerCase());
    }
  });

  it("sees a token cut between a header and the body in the larger part", () => {
    const cut = 10;
    expect(guard.checkHead("OK", ["x-a", `v=${TOKEN.slice(0, cut)}`])).toBeUndefined();
    expect(guard.check(`rest=${TOKEN.slice(cut)}`, "body")?.kind).toBe("token");
  });

  it("reads the reason and every header, one by one and joined", () => {
    expect(guard.checkHead(TOKEN.toUpperCase(), [])?.kind).toBe("token");
    expect(guard.checkHead("OK", ["Location", `/x?t=${percentAll(TOKEN)}`])?.kind).toBe("token");
    expect(guard.checkHead("OK", ["Content-Type", "text/plain", "X-Ok", "1"])).toBeUndefined();
  });

  it("refuses what the engine cannot read within its bounds", () => {
    let nested: Buffer = Buffer.from("nothing here");
    for (let i = 0; i < 6; i++) nested = gzipSync(Buffer.from(nested.toString("base64")));
    const found = guard.check(Buffer.concat([Buffer.from("x"), nested]), "body");
    expect(found?.kind).toBe("unscannable");
  });

  it("has nothing to do without route tokens", () => {
    const none = new ResponseGuard([]);
    expect(none.check(TOKEN, "body")).toBeUndefined();
    expect(none.checkHead(TOKEN, [])).toBeUndefined();
  });
});

describe("ResponseGuard.bodyStage", () => {
  it("holds a body whole and passes it unchanged when clean", async () => {
    const stage = guard.bodyStage("application/json");
    const seen: Buffer[] = [];
    stage.on("data", (c: Buffer) => seen.push(c));
    stage.write(Buffer.from('{"a":'));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
    stage.end(Buffer.from("1}"));
    await new Promise((r) => stage.on("end", r));
    expect(Buffer.concat(seen).toString()).toBe('{"a":1}');
  });

  it("fails a body that carries the token cut across its chunks", async () => {
    const stage = guard.bodyStage("text/plain");
    const source = new PassThrough();
    source.pipe(stage);
    const upper = TOKEN.toUpperCase();
    source.write(upper.slice(0, 5));
    source.end(upper.slice(5));
    await expect(drain(stage)).rejects.toBeInstanceOf(TokenWithheldError);
  });

  it("reads an event stream chunk by chunk, with the end of the last one", async () => {
    const stage = guard.bodyStage("text/event-stream");
    const seen: Buffer[] = [];
    stage.on("data", (c: Buffer) => seen.push(c));
    const failed = new Promise<Error>((r) => stage.on("error", r));
    stage.write(Buffer.from("data: hello\n\n"));
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(seen).toString()).toBe("data: hello\n\n");
    const spelled = [...TOKEN].reverse().join("");
    stage.write(Buffer.from(`data: ${spelled.slice(0, 7)}`));
    stage.write(Buffer.from(`${spelled.slice(7)}\n\n`));
    expect(await failed).toBeInstanceOf(TokenWithheldError);
    expect(Buffer.concat(seen).toString()).not.toContain(spelled.slice(7));
  });

  it("reads a body past the whole-body bound in pieces, each with the end of the last", async () => {
    const stage = guard.bodyStage("application/octet-stream");
    const source = new PassThrough();
    source.pipe(stage);
    const filler = Buffer.alloc(WHOLE_BODY_BYTES + 10, 0x61);
    const upper = TOKEN.toUpperCase();
    source.write(Buffer.concat([filler, Buffer.from(upper.slice(0, 9))]));
    source.end(Buffer.from(upper.slice(9)));
    await expect(drain(stage)).rejects.toBeInstanceOf(TokenWithheldError);
  });
});

describe("ResponseGuard.messageReader", () => {
  it("sees a token cut across two messages", () => {
    const read = guard.messageReader();
    const spelled = Buffer.from(TOKEN, "utf16le");
    expect(read(spelled.subarray(0, 20), "websocket")).toBeUndefined();
    expect(read(spelled.subarray(20), "websocket")?.kind).toBe("token");
  });
});
