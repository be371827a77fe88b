import * as net from "node:net";
import * as tls from "node:tls";
import { expect, it } from "vitest";
import {
  proxyRequest,
  TOKEN_VALUES,
  TOKENS,
  useEgressBench,
} from "../support/sidecars/egress-harness.js";

const bench = useEgressBench();

/** mulberry32: the same cases on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEMPLATES = [
  "GET http://plain.example.test/x?y=1 HTTP/1.1\r\nHost: plain.example.test\r\n\r\n",
  "CONNECT api.example.test:443 HTTP/1.1\r\nHost: api.example.test:443\r\n\r\n",
  "CONNECT other.example.test:443 HTTP/1.1\r\n\r\n",
  "GET /__egress/routes HTTP/1.1\r\nHost: egress\r\n\r\n",
  "POST http://plain.example.test/ HTTP/1.1\r\nHost: p\r\nContent-Length: 5\r\n\r\nhello",
];

const HAND_PICKED = [
  "CONNECT :443 HTTP/1.1\r\n\r\n",
  "CONNECT api.example.test HTTP/1.1\r\n\r\n",
  "CONNECT api.example.test:0 HTTP/1.1\r\n\r\n",
  "CONNECT api.example.test:99999 HTTP/1.1\r\n\r\n",
  "CONNECT [::1 HTTP/1.1\r\n\r\n",
  "CONNECT api.example.test:443/x HTTP/1.1\r\n\r\n",
  "CONNECT user@api.example.test:443 HTTP/1.1\r\n\r\n",
  `CONNECT ${"a".repeat(300)}.test:443 HTTP/1.1\r\n\r\n`,
  "CONNECT  HTTP/1.1\r\n\r\n",
  "GET ftp://plain.example.test/ HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET https://api.example.test/v1/ HTTP/1.1\r\nHost: api.example.test\r\n\r\n",
  "GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET http:// HTTP/1.1\r\nHost: x\r\n\r\n",
  `GET http://plain.example.test/ HTTP/1.1\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`,
  `GET http://plain.example.test/ HTTP/1.1\r\n${"X-H: 1\r\n".repeat(3000)}\r\n`,
  "POST http://plain.example.test/ HTTP/1.1\r\nHost: p\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  "POST http://plain.example.test/ HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  "GET http://plain.example.test/ HTTP/1.1\r\nHost: p\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
  "G\u0000T / HTTP/1.1\r\n\r\n",
  "GET /\r\n\r\n",
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
  "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003",
  "GET /__egress/routes HTTP/1.1\r\nHost: egress\r\nContent-Length: -1\r\n\r\n",
  "GET /__egress/routes HTTP/1.1\r\n\r\n",
  "\r\n\r\n\r\n",
];

/** Writes `bytes`, collects what comes back until the socket closes or `ms` pass. */
function poke(port: number, bytes: Buffer, ms = 400): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString("latin1"));
    };
    const timer = setTimeout(finish, ms);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", finish);
    socket.on("close", finish);
    socket.write(bytes);
  });
}

/** CONNECT to a route host, then either garbage instead of TLS, or TLS and then garbage. */
function pokeInsideTunnel(port: number, garbage: Buffer, handshake: boolean): Promise<string> {
  return new Promise((resolve) => {
    const raw = net.connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let socket: net.Socket = raw;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      raw.destroy();
      resolve(Buffer.concat(chunks).toString("latin1"));
    };
    const timer = setTimeout(finish, 600);
    raw.on("error", finish);
    raw.once("data", () => {
      if (!handshake) {
        raw.on("data", (c: Buffer) => chunks.push(c));
        raw.write(garbage);
        return;
      }
      const secure = tls.connect({
        socket: raw,
        servername: "api.example.test",
        ca: bench.cas.egress.certPem,
      });
      socket = secure;
      secure.on("error", finish);
      secure.on("data", (c: Buffer) => chunks.push(c));
      secure.on("close", finish);
      secure.once("secureConnect", () => secure.write(garbage));
    });
    raw.write("CONNECT api.example.test:443 HTTP/1.1\r\nHost: api.example.test:443\r\n\r\n");
  });
}

function mutate(next: () => number, template: string): Buffer {
  const bytes = Buffer.from(template, "latin1");
  const pick = (n: number) => Math.floor(next() * n);
  switch (pick(4)) {
    case 0:
      return bytes.subarray(0, pick(bytes.length));
    case 1: {
      const out = Buffer.from(bytes);
      for (let i = 0; i < 1 + pick(6); i++) out[pick(out.length)] = pick(256);
      return out;
    }
    case 2: {
      const at = pick(bytes.length);
      const insert = Buffer.from(["\r", "\n", "\u0000", " ", ":", "\r\n\r\n", "%"][pick(7)] ?? "");
      return Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)]);
    }
    default:
      return Buffer.concat([
        bytes,
        Buffer.from(Array.from({ length: pick(200) }, () => pick(256))),
      ]);
  }
}

it("survives 150 malformed inputs and still routes afterwards", { timeout: 60_000 }, async () => {
  const s = await bench.startScenario();
  const next = random(20250601);
  const randomBytes = (max: number) =>
    Buffer.from(
      Array.from({ length: 1 + Math.floor(next() * max) }, () => Math.floor(next() * 256)),
    );
  const cases: Array<() => Promise<string>> = [];
  for (let i = 0; i < 40; i++) {
    const bytes = randomBytes(600);
    cases.push(() => poke(s.egress.port, bytes));
  }
  for (let i = 0; i < 50; i++) {
    const bytes = mutate(next, TEMPLATES[i % TEMPLATES.length] ?? "");
    cases.push(() => poke(s.egress.port, bytes));
  }
  for (const text of HAND_PICKED)
    cases.push(() => poke(s.egress.port, Buffer.from(text, "latin1")));
  for (let i = 0; i < 18; i++) {
    const garbage =
      i % 3 === 0 ? Buffer.from("GET /v1/ HTTP/1.1\r\nHost: evil\r\n\r\n") : randomBytes(300);
    cases.push(() => pokeInsideTunnel(s.egress.port, garbage, i % 2 === 0));
  }
  // Agents that give up half-way: a CONNECT or a request body cut short.
  for (let i = 0; i < 17; i++) {
    const partial =
      i % 2 === 0
        ? "CONNECT api.example.test:443 HTTP/1.1\r\n\r\n\u0016\u0003\u0001"
        : "POST http://plain.example.test/ HTTP/1.1\r\nHost: p\r\nContent-Length: 100000\r\n\r\nabc";
    cases.push(() => poke(s.egress.port, Buffer.from(partial, "latin1"), 50));
  }
  expect(cases.length).toBeGreaterThanOrEqual(150);

  const answers: string[] = [];
  for (let i = 0; i < cases.length; i += 15) {
    answers.push(...(await Promise.all(cases.slice(i, i + 15).map((run) => run()))));
  }
  const everything = answers.join("\n");
  for (const value of TOKEN_VALUES) expect(everything).not.toContain(value);
  expect(everything).toContain("HTTP/1.1 400 Bad Request");

  expect(await proxyRequest(s.egress.port, "/__egress/healthz")).toMatchObject({ status: 200 });
  const res = await s.agent().fetch("https://api.example.test/v1/after");
  expect(res.status).toBe(200);
  expect(s.upstream.seen.at(-1)?.headers.authorization).toBe(`Bearer ${TOKENS.EGRESS_TOKEN_0}`);
  for (const value of TOKEN_VALUES) expect(s.egress.logs.join("\n")).not.toContain(value);
  for (const target of s.egress.dialled)
    expect(target).toEqual({ host: "127.0.0.1", port: s.pipelock.port });
});

it("answers and logs an unparsable request inside a route host's tunnel", async () => {
  const s = await bench.startScenario();
  const answer = await pokeInsideTunnel(
    s.egress.port,
    Buffer.from("GET /v1/x HTTP/1.1\r\nHost api.example.test\r\n\r\n"),
    true,
  );
  expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  expect(answer).toContain("egress could not parse this request inside the tunnel");
  expect(s.upstream.seen).toEqual([]);
  expect(s.egress.logs.map((l) => JSON.parse(l))).toContainEqual(
    expect.objectContaining({ kind: "refused", host: "api.example.test", status: 400 }),
  );
});
