import { connect } from "node:net";
import { ProxyAgent, request } from "undici";
import { describe, expect, it } from "vitest";
import {
  startTestProxy,
  startUpstream,
  usePipelockTestScope,
} from "../support/sidecars/pipelock-proxy-fixture.js";

const scope = usePipelockTestScope();

/** A small deterministic PRNG: the same 1,000 inputs on every run. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}

interface Input {
  parts: Buffer[];
  /** Half-close after writing. */
  end: boolean;
}

function malformedInputs(count: number, allowed: string): Input[] {
  const r = prng(42);
  const text = (s: string) => Buffer.from(s, "latin1");
  const valid = `POST http://${allowed}/p HTTP/1.1\r\nHost: ${allowed}\r\nContent-Length: 5\r\n\r\nhello`;
  const makers: (() => Input)[] = [
    () => ({ parts: [r.bytes(1 + r.int(2000))], end: r.int(2) === 0 }),
    () => {
      const b = text(valid);
      for (let i = 0; i < 1 + r.int(8); i++) b[r.int(b.length)] = r.int(256);
      return { parts: [b.subarray(0, 1 + r.int(b.length))], end: r.int(2) === 0 };
    },
    () => ({
      parts: [
        text(
          `GET http://${allowed}/ HTTP/1.1\r\nX-Big: ${"a".repeat(20_000 + r.int(20_000))}\r\n\r\n`,
        ),
      ],
      end: false,
    }),
    () => ({
      parts: [
        text(
          `POST http://${allowed}/ HTTP/1.1\r\nHost: ${allowed}\r\nTransfer-Encoding: chunked\r\n\r\n${["zz", "5\r\nabc", "-1", "ffffffffffffffff"][r.int(4)]}\r\n`,
        ),
      ],
      end: r.int(2) === 0,
    }),
    () => ({
      parts: [
        text(`CONNECT ${allowed} HTTP/1.1\r\nHost: ${allowed}\r\n\r\n`),
        r.bytes(1 + r.int(600)),
      ],
      end: r.int(2) === 0,
    }),
    () => {
      // A TLS record header, then garbage: a broken ClientHello.
      const hello = Buffer.concat([
        Buffer.from([0x16, 0x03, 0x01, r.int(256), r.int(256)]),
        r.bytes(r.int(400)),
      ]);
      return {
        parts: [text(`CONNECT ${allowed} HTTP/1.1\r\nHost: ${allowed}\r\n\r\n`), hello],
        end: r.int(2) === 0,
      };
    },
    () => ({
      parts: [
        text(
          [
            "CONNECT  HTTP/1.1\r\n\r\n",
            "CONNECT :0 HTTP/1.1\r\n\r\n",
            "CONNECT [::1 HTTP/1.1\r\n\r\n",
            "GET / HTTP/9.9\r\n\r\n",
            "\r\n\r\n\r\n",
          ][r.int(5)] as string,
        ),
      ],
      end: true,
    }),
    () => ({ parts: [text(valid.slice(0, r.int(valid.length)))], end: true }),
    () => ({
      parts: [
        text(
          `GET http://${allowed}/ws HTTP/1.1\r\nHost: ${allowed}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
        r.bytes(r.int(300)),
      ],
      end: r.int(2) === 0,
    }),
  ];
  return Array.from({ length: count }, () => (makers[r.int(makers.length)] as () => Input)());
}

function send(port: number, input: Input): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const timer = setTimeout(() => socket.destroy(), 150);
    socket.on("error", () => {});
    socket.on("data", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    for (const part of input.parts) socket.write(part);
    if (input.end) socket.end();
  });
}

describe("pipelock: robustness", () => {
  it("survives 1,000 malformed inputs and still serves a normal request", {
    timeout: 60_000,
  }, async () => {
    const upstream = await startUpstream(scope.cas);
    scope.closeAfter(() => upstream.close());
    const plain = await startUpstream(scope.cas, false);
    scope.closeAfter(() => plain.close());
    const s = await startTestProxy(scope.cas, {
      allow: [`api.test:${upstream.port}`, `plain.test:${plain.port}`],
    });
    scope.closeAfter(() => s.proxy.close());

    const inputs = malformedInputs(1000, `plain.test:${plain.port}`);
    const started = Date.now();
    for (let i = 0; i < inputs.length; i += 25) {
      await Promise.all(inputs.slice(i, i + 25).map((input) => send(s.proxy.address.port, input)));
    }
    expect(Date.now() - started).toBeLessThan(45_000);

    const agent = new ProxyAgent({ uri: s.url, requestTls: { ca: scope.cas.bottle.certPem } });
    scope.closeAfter(() => agent.close());
    const res = await request(`https://api.test:${upstream.port}/after-fuzz`, {
      dispatcher: agent,
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ url: "/after-fuzz" });
  });
});
