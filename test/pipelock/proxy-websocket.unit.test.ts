import { once } from "node:events";
import { type CloseEvent, type MessageEvent, ProxyAgent, WebSocket } from "undici";
import { describe, expect, it } from "vitest";
import { FAKE_CREDENTIALS } from "../support/fixtures/fake-credentials.js";
import {
  rawExchange,
  startTestProxy,
  startUpstream,
  tlsTunnel,
  usePipelockTestScope,
  wsFrame,
} from "../support/sidecars/pipelock-proxy-fixture.js";

const TOKEN = FAKE_CREDENTIALS["github-pat"]?.hit ?? "";

const scope = usePipelockTestScope();

async function scenario() {
  const upstream = await startUpstream(scope.cas);
  scope.closeAfter(() => upstream.close());
  const started = await startTestProxy(scope.cas, { allow: [`ws.test:${upstream.port}`] });
  scope.closeAfter(() => started.proxy.close());
  const agent = new ProxyAgent({ uri: started.url, requestTls: { ca: scope.cas.bottle.certPem } });
  scope.closeAfter(() => agent.close());
  return { upstream, ...started, agent };
}

function nextEvent<T>(ws: WebSocket, type: "message" | "close" | "open" | "error"): Promise<T> {
  return new Promise((resolve) =>
    ws.addEventListener(type, (e) => resolve(e as T), { once: true }),
  );
}

describe("pipelock: WebSocket", () => {
  it("relays to an allowlisted host and blocks a message that carries a secret", async () => {
    const s = await scenario();
    const ws = new WebSocket(`wss://ws.test:${s.upstream.port}/socket`, { dispatcher: s.agent });
    scope.closeAfter(async () => ws.close());
    await nextEvent(ws, "open");
    ws.send("hello");
    const echo = await nextEvent<MessageEvent>(ws, "message");
    expect(echo.data).toBe("hello");

    const closed = nextEvent<CloseEvent>(ws, "close");
    ws.send(`here is ${TOKEN}`);
    const event = await closed;
    expect(event.code).toBe(1008);
    expect(event.reason).toBe("pipelock: blocked, message carries a secret (rule github-pat)");
    expect(s.upstream.wsMessages).toEqual(["hello"]);
    expect(s.audit.events.map((e) => [e.method, e.decision, e.rule, e.location])).toEqual([
      ["CONNECT", "allowed", null, null],
      ["GET", "allowed", null, null],
      ["GET", "dlp_block", "github-pat", "websocket"],
    ]);
    expect(s.audit.raw.join("\n")).not.toContain(TOKEN.slice(4));
  });

  it("reassembles fragmented messages before scanning them", async () => {
    const s = await scenario();
    const authority = `ws.test:${s.upstream.port}`;
    const tunnel = await tlsTunnel(s.proxy.address.port, authority, {
      ca: scope.cas.bottle.certPem,
    });
    scope.closeAfter(async () => tunnel.destroy());
    tunnel.write(
      `GET /s HTTP/1.1\r\nHost: ${authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    );
    const [head] = (await once(tunnel, "data")) as [Buffer];
    expect(head.toString("latin1")).toMatch(/^HTTP\/1\.1 101 /);
    expect(head.toString("latin1")).not.toMatch(/sec-websocket-extensions/i);
    const half = Math.floor(TOKEN.length / 2);
    tunnel.write(wsFrame(`x ${TOKEN.slice(0, half)}`, true, 1, false));
    tunnel.write(wsFrame(Buffer.from([]), true, 9));
    tunnel.write(wsFrame(TOKEN.slice(half), true, 0, true));
    const rest: Buffer[] = [];
    tunnel.on("data", (c: Buffer) => rest.push(c));
    await once(tunnel, "close");
    const closeFrame = Buffer.concat(rest);
    expect(closeFrame[0]).toBe(0x88);
    expect(closeFrame.readUInt16BE(2)).toBe(1008);
    expect(s.upstream.wsMessages).toEqual([]);
  });

  it("blocks a secret cut in two messages, and keeps relaying clean ones", async () => {
    const s = await scenario();
    const ws = new WebSocket(`wss://ws.test:${s.upstream.port}/socket`, { dispatcher: s.agent });
    scope.closeAfter(async () => ws.close());
    await nextEvent(ws, "open");
    const half = Math.floor(TOKEN.length / 2);
    const clean = ["hello", "ghp_ is a prefix", "and so is this"];
    for (const text of [...clean, `x ${TOKEN.slice(0, half)}`]) {
      ws.send(text);
      expect((await nextEvent<MessageEvent>(ws, "message")).data).toBe(text);
    }
    const closed = nextEvent<CloseEvent>(ws, "close");
    ws.send(`${TOKEN.slice(half)} y`);
    expect((await closed).code).toBe(1008);
    // Each half alone is not the token; the second never left.
    expect(s.upstream.wsMessages).toEqual([...clean, `x ${TOKEN.slice(0, half)}`]);
    expect(s.audit.events.at(-1)).toMatchObject({ decision: "dlp_block", rule: "github-pat" });
  });

  it("refuses upgrades to hosts off the allowlist", async () => {
    const s = await scenario();
    const answer = await rawExchange(
      s.proxy.address.port,
      "GET http://evil.test/s HTTP/1.1\r\nHost: evil.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(answer).toContain('"evil.test:80" is not on this bottle\'s egress allowlist');
  });
});
