import type { IncomingMessage } from "node:http";
import { PassThrough, type Readable } from "node:stream";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ResponseGuard, TokenWithheldError } from "./response-guard.js";
import { codingsIn, scrubResponse } from "./response-scrub.js";
import { placeholderOf, tokenForms } from "./token-scrub.js";

const TOKEN = "sk-route-token-0123456789";
const FORMS = tokenForms([TOKEN]);
const P = placeholderOf(TOKEN.length);
const GUARD = new ResponseGuard([TOKEN]);

/** An upstream response as relay.ts gets it: raw headers, status, and a body stream. */
function upstream(rawHeaders: string[], body: Buffer | undefined, status = 200): IncomingMessage {
  const stream = new PassThrough();
  if (body !== undefined) stream.end(body);
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    headers[(rawHeaders[i] as string).toLowerCase()] = rawHeaders[i + 1] as string;
  }
  return Object.assign(stream, {
    rawHeaders,
    headers,
    statusCode: status,
  }) as unknown as IncomingMessage;
}

async function text(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("latin1");
}

describe("scrubResponse", () => {
  it("keeps Content-Length on a plain body: every replacement is as long as its form", async () => {
    const body = Buffer.from(`{"t":"${TOKEN}"}`);
    const raw = ["Content-Length", String(body.length), "X-Echo", `Bearer ${TOKEN}`];
    const r = scrubResponse(upstream(raw, body), raw, FORMS, "GET");
    if (!r.ok) throw new Error(r.message);
    expect(r.headers).toEqual(["Content-Length", String(body.length), "X-Echo", `Bearer ${P}`]);
    expect(await text(r.body)).toBe(`{"t":"${P}"}`);
  });

  it("undoes stacked codings last first and drops Content-Encoding and Content-Length", async () => {
    const body = brotliCompressSync(gzipSync(`x ${TOKEN} y`));
    const raw = ["content-encoding", "gzip", "Content-Encoding", "BR", "content-length", "9"];
    const r = scrubResponse(upstream(raw, body), raw, FORMS, "GET");
    if (!r.ok) throw new Error(r.message);
    expect(r.headers).toEqual([]);
    expect(await text(r.body)).toBe(`x ${P} y`);
  });

  it("passes identity as it is", async () => {
    const raw = ["Content-Encoding", "identity"];
    const r = scrubResponse(upstream(raw, Buffer.from(TOKEN)), raw, FORMS, "GET");
    if (!r.ok) throw new Error(r.message);
    expect(await text(r.body)).toBe(P);
  });

  it.each([
    [["Content-Encoding", "zstd"], 'Content-Encoding "zstd"'],
    [["Content-Encoding", "gzip, compress"], 'Content-Encoding "gzip, compress"'],
    [["Content-Encoding", "x-unknown"], 'Content-Encoding "x-unknown"'],
    [["Transfer-Encoding", "gzip, chunked"], 'Transfer-Encoding "gzip, chunked"'],
    [["Transfer-Encoding", "gzip"], 'Transfer-Encoding "gzip"'],
  ])("refuses %j: egress could not read it", (raw, what) => {
    const r = scrubResponse(upstream(raw, Buffer.from("x")), [], FORMS, "GET");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(what);
  });

  it("fails the stream on a body that is not what its coding says", async () => {
    const raw = ["Content-Encoding", "gzip"];
    const r = scrubResponse(upstream(raw, Buffer.from("not gzip at all")), raw, FORMS, "GET");
    if (!r.ok) throw new Error(r.message);
    await expect(text(r.body)).rejects.toThrow();
  });

  it("does not decode the absent body of a HEAD answer or a 304", async () => {
    const raw = ["Content-Encoding", "gzip", "Content-Length", "120"];
    for (const [method, status] of [
      ["HEAD", 200],
      ["GET", 304],
    ] as const) {
      const r = scrubResponse(upstream(raw, Buffer.alloc(0), status), raw, FORMS, method);
      if (!r.ok) throw new Error(r.message);
      expect(r.headers).toEqual([]);
      expect(await text(r.body)).toBe("");
    }
  });

  it("refuses a head that still carries the token after the scrub, with a guard", () => {
    const raw = ["Location", `/next?t=${TOKEN.toUpperCase()}`];
    const r = scrubResponse(upstream(raw, Buffer.alloc(0), 302), raw, FORMS, "GET", GUARD);
    expect(r).toEqual({
      ok: false,
      message:
        "egress withheld a response that carried the route's token in a form it cannot scrub (known-secret/case-changed in header:location)",
    });
  });

  it("fails a decoded body that still carries the token, and passes the scrubbed echo", async () => {
    const raw = ["Content-Encoding", "gzip"];
    const bad = gzipSync(Buffer.from(`x=${[...TOKEN].reverse().join("")}`));
    const r = scrubResponse(upstream(raw, bad), raw, FORMS, "GET", GUARD);
    if (!r.ok) throw new Error(r.message);
    await expect(text(r.body)).rejects.toBeInstanceOf(TokenWithheldError);
    const echo = gzipSync(Buffer.from(`x=${TOKEN}`));
    const ok = scrubResponse(upstream(raw, echo), raw, FORMS, "GET", GUARD);
    if (!ok.ok) throw new Error(ok.message);
    expect(await text(ok.body)).toBe(`x=${P}`);
  });
});

describe("codingsIn", () => {
  it("lists every coding of every header of that name, lower case", () => {
    expect(
      codingsIn(
        ["Content-Encoding", "GZip, ,br", "content-encoding", " deflate"],
        "content-encoding",
      ),
    ).toEqual(["gzip", "br", "deflate"]);
  });
});
