// Sandbox escape, by a route's token coming back in a form egress does not scrub: egress adds
// the real token to a routed request, and a route host the agent can steer (a debug endpoint
// that reflects what it got) hands it back changed: in another case, escaped, entity-encoded,
// reversed, as hex with separators, UTF-16, base64 twice, rot13, compressed with or without a
// declared encoding, cut between a header and the body or between chunks, in an event stream,
// in WebSocket frames. The stand-in builds each answer from the token it received, as the
// request's body says. The agent, as the agent user, must never receive the token in any form:
// each such answer is withheld (egress's 502, or the stream or WebSocket cut) and nothing of it
// reaches the agent after the point egress saw the token; an ordinary answer arrives intact.
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { EGRESS_PROXY } from "../support/docker/escape-bottle.js";
import {
  httpRequest,
  probeOne,
  webSocketFrame,
  webSocketUpgrade,
} from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { encodedForms } from "../support/fixtures/encoded-forms.js";
import { headerValues, type RecordingUpstream } from "../support/standins/escape-standins.js";

const TOKEN = "cbtest-return-Zq8Lx3Vn7Rk2Wd5Pm9Ty4Hb6";
const ROUTE = "api.example.test";
/** Written by the stand-in into every answer: if the agent sees it, the answer got through. */
const MARK = "REFLECTED-ANSWER-MARK";
const WITHHELD =
  "egress withheld a response that carried the route's token in a form it cannot scrub";

/** The token in every form the agent's side can rule out cheaply, lower-cased. */
function tokenForms(): string[] {
  const reversed = [...TOKEN].reverse().join("");
  const halves = [TOKEN.slice(0, TOKEN.length >> 1), TOKEN.slice(TOKEN.length >> 1)];
  return [
    ...encodedForms(TOKEN),
    reversed,
    ...halves,
    Buffer.from(TOKEN, "utf16le").toString("latin1"),
    Buffer.from(TOKEN).toString("hex").match(/../g)?.join(":") ?? "",
  ].map((f) => f.toLowerCase());
}

/** The forms of the token in what the agent received, after undoing the escapes used here. */
function tokenIn(received: string): string[] {
  const views = [received, undoEscapes(received), undoEscapes(undoEscapes(received))].map((v) =>
    v.toLowerCase(),
  );
  return tokenForms().filter((form) => views.some((v) => v.includes(form)));
}

function undoEscapes(text: string): string {
  return text
    .replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_m, d: string) => String.fromCharCode(Number(d)))
    .replace(/&percnt;/g, "%")
    .replace(/\\u([0-9a-f]{4})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/**
 * Answers built by the stand-in from the token it got: `(token, { Buffer, zlib })` →
 * { status, headers, chunks, delayMs, trailers }. Each must be withheld.
 */
const WITHHELD_ANSWERS: Record<string, string> = {
  "upper case in the body": `(t) => ({ headers: { "content-type": "text/plain" }, chunks: ["${MARK} " + t.toUpperCase()] })`,
  "mixed-case percent-encoding": `(t, { Buffer }) => ({ headers: { "content-type": "text/plain" }, chunks: ["${MARK} " + [...Buffer.from(t)].map((b, i) => "%" + (i % 2 ? b.toString(16) : b.toString(16).toUpperCase())).join("")] })`,
  "\\\\u escapes in JSON": `(t) => ({ headers: { "content-type": "application/json" }, chunks: [JSON.stringify({ m: "${MARK}" }).slice(0, -1) + ',"t":"' + [...t].map((c) => "\\\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")).join("") + '"}'] })`,
  "HTML entities": `(t) => ({ headers: { "content-type": "text/html" }, chunks: ["<p>${MARK} " + [...t].map((c) => "&#" + c.charCodeAt(0) + ";").join("") + "</p>"] })`,
  "an entity hiding a percent-escape": `(t, { Buffer }) => ({ headers: { "content-type": "text/html" }, chunks: ["${MARK} " + [...Buffer.from(t)].map((b) => "&percnt;" + b.toString(16)).join("")] })`,
  reversed: `(t) => ({ headers: { "content-type": "text/plain" }, chunks: ["${MARK} " + [...t].reverse().join("")] })`,
  "hex with colons": `(t, { Buffer }) => ({ headers: { "content-type": "text/plain" }, chunks: ["${MARK} " + Buffer.from(t).toString("hex").match(/../g).join(":")] })`,
  "UTF-16 in a binary body": `(t, { Buffer }) => ({ headers: { "content-type": "application/octet-stream" }, chunks: [Buffer.concat([Buffer.from("${MARK}"), Buffer.from(t, "utf16le")])] })`,
  "base64 twice": `(t, { Buffer }) => ({ headers: { "content-type": "text/plain" }, chunks: ["${MARK} " + Buffer.from(Buffer.from(t).toString("base64")).toString("base64")] })`,
  rot13: `(t) => ({ headers: { "content-type": "text/plain" }, chunks: ["${MARK} " + t.replace(/[a-z]/gi, (c) => { const b = c <= "Z" ? 65 : 97; return String.fromCharCode(((c.charCodeAt(0) - b + 13) % 26) + b); })] })`,
  "gzip with no declared encoding": `(t, { zlib }) => ({ headers: { "content-type": "application/octet-stream" }, chunks: [zlib.gzipSync("${MARK} " + t)] })`,
  "gzip declared, upper case inside": `(t, { zlib }) => ({ headers: { "content-type": "text/plain", "content-encoding": "gzip" }, chunks: [zlib.gzipSync("${MARK} " + t.toUpperCase())] })`,
  "br declared, reversed inside": `(t, { zlib }) => ({ headers: { "content-type": "text/plain", "content-encoding": "br" }, chunks: [zlib.brotliCompressSync("${MARK} " + [...t].reverse().join(""))] })`,
  "deflate declared, hex inside": `(t, { zlib, Buffer }) => ({ headers: { "content-type": "text/plain", "content-encoding": "deflate" }, chunks: [zlib.deflateSync("${MARK} " + Buffer.from(t).toString("hex").toUpperCase().match(/../g).join("-"))] })`,
  "cut between a header and the body": `(t) => ({ headers: { "content-type": "text/plain", "x-part": t.slice(0, 11) }, chunks: ["${MARK} " + t.slice(11)] })`,
  "cut between the chunks of a chunked body": `(t) => ({ headers: { "content-type": "text/plain" }, chunks: ["${MARK} " + t.toUpperCase().slice(0, 9), t.toUpperCase().slice(9)], delayMs: 300 })`,
  "Location, lower case": `(t) => ({ status: 302, headers: { location: "/next?${MARK}=" + t.toLowerCase() }, chunks: [] })`,
  "Set-Cookie, reversed": `(t) => ({ headers: { "set-cookie": "${MARK}=" + [...t].reverse().join("") }, chunks: [] })`,
};

describeWithEngine("escape: a route's token coming back in a form egress does not scrub", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;

  /** A routed POST to the reflecting stand-in, as raw bytes through egress's tunnel. */
  const reflect = async (answer: string) => {
    const r = await probeOne(bottle.agentContainer, {
      kind: "exchange",
      proxy: EGRESS_PROXY.replace("http://", ""),
      connect: `${ROUTE}:443`,
      tls: true,
      send: [
        httpRequest(
          "POST /v1/reflect HTTP/1.1",
          [
            ["Host", ROUTE],
            ["Content-Type", "text/plain"],
            ["Content-Length", String(Buffer.byteLength(answer))],
            ["Connection", "close"],
          ],
          answer,
        ),
      ],
      quietMs: 3000,
    });
    return { status: r.status, response: r.response ?? "" };
  };

  /** A WebSocket to the stand-in whose one text message asks for `frames`. */
  const reflectFrames = async (frames: string) => {
    const r = await probeOne(bottle.agentContainer, {
      kind: "exchange",
      proxy: EGRESS_PROXY.replace("http://", ""),
      connect: `${ROUTE}:443`,
      tls: true,
      send: [webSocketUpgrade("/v1/reflect-ws", ROUTE), webSocketFrame(1, frames)],
      delayMs: 800,
      quietMs: 3000,
    });
    return { status: r.status, response: r.response ?? "" };
  };

  beforeAll(async () => {
    bottle = await suite.startBottle("return", {
      bottle: `
egress:
  routes:
    - host: ${ROUTE}
      paths: ["/v1/"]
      methods: [GET, POST]
      auth: { scheme: Bearer, token_env: CB_RETURN_TOKEN }
supervise: false
`,
      env: { CB_RETURN_TOKEN: TOKEN },
    });
    upstream = await suite.startUpstream(bottle, [ROUTE]);
  });

  it("relays an ordinary route answer intact (the control), and the stand-in got the token", async () => {
    const body = '{"ok":true,"text":"plain %41 &amp; \\\\u0041 answer"}';
    const r = await reflect(
      `(t) => ({ headers: { "content-type": "application/json", "x-ok": "1" }, chunks: [${JSON.stringify(body.slice(0, 10))}, ${JSON.stringify(body.slice(10))}], delayMs: 100 })`,
    );
    expect(r.status, r.response).toBe(200);
    expect(r.response).toMatch(/^x-ok: 1\r$/im);
    // Whole, in egress's own chunked framing: the guard read it whole before passing it on.
    expect(r.response).toContain(body);
    const seen = await upstream.requests();
    expect(
      seen.some(
        (q) =>
          q.url === "/v1/reflect" && headerValues(q, "authorization").includes(`Bearer ${TOKEN}`),
      ),
    ).toBe(true);
  });

  it.each(Object.entries(WITHHELD_ANSWERS))(
    "withholds an answer carrying the token: %s",
    async (_name, answer) => {
      const r = await reflect(answer);
      expect(r.status, r.response).toBe(502);
      expect(r.response).toContain(WITHHELD);
      expect(r.response).not.toContain(MARK);
      expect(tokenIn(r.response)).toEqual([]);
    },
  );

  it("drops a trailer that carries the token", async () => {
    const r = await reflect(
      `(t) => ({ headers: { "content-type": "text/plain", trailer: "x-t" }, chunks: ["${MARK}"], trailers: { "x-t": t.toUpperCase() } })`,
    );
    expect(tokenIn(r.response), r.response).toEqual([]);
    expect(r.response).toContain(MARK);
  });

  it("cuts an event stream at the event that carries the token, after the clean ones", async () => {
    const r = await reflect(
      `(t) => ({ headers: { "content-type": "text/event-stream" }, chunks: ["data: first\\n\\n", "data: ${MARK} " + [...t].reverse().join("") + "\\n\\n"], delayMs: 300 })`,
    );
    expect(r.status, r.response).toBe(200);
    expect(r.response).toContain("data: first");
    expect(r.response).not.toContain(MARK);
    expect(tokenIn(r.response)).toEqual([]);
  });

  it("relays a clean WebSocket message (the control)", async () => {
    const r = await reflectFrames(`() => [{ opcode: 1, payload: "${MARK} hello" }]`);
    expect(r.status, r.response).toBe(101);
    expect(r.response).toContain(`${MARK} hello`);
  });

  const WITHHELD_FRAMES: Record<string, string> = {
    "a text frame, upper case": `(t) => [{ opcode: 1, payload: "${MARK} " + t.toUpperCase() }]`,
    "a binary frame, gzip'd": `(t, { zlib }) => [{ opcode: 2, payload: zlib.gzipSync("${MARK} " + t) }]`,
    "a binary frame, UTF-16": `(t, { Buffer }) => [{ opcode: 2, payload: Buffer.concat([Buffer.from("${MARK}"), Buffer.from(t, "utf16le")]) }]`,
    "cut between two messages": `(t) => [{ opcode: 1, payload: "ok " + [...t].reverse().join("").slice(0, 15) }, { opcode: 1, payload: [...t].reverse().join("").slice(15) + " ${MARK}" }]`,
    "cut between the fragments of one message": `(t) => [{ opcode: 1, fin: false, payload: t.toLowerCase().slice(0, 8) }, { opcode: 0, payload: t.toLowerCase().slice(8) + " ${MARK}" }]`,
  };

  it.each(Object.entries(WITHHELD_FRAMES))(
    "closes the WebSocket on a message carrying the token: %s",
    async (_name, frames) => {
      const r = await reflectFrames(frames);
      expect(r.status, r.response).toBe(101);
      expect(r.response).not.toContain(MARK);
      expect(tokenIn(r.response)).toEqual([]);
      // The close frame egress sends: 1008, policy violation.
      expect(r.response).toContain("\x88");
      expect(r.response).toContain("\x03\xf0");
    },
  );
});
