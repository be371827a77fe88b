import { once } from "node:events";
import { connect } from "node:net";
import * as tls from "node:tls";
import { ProxyAgent, request } from "undici";
import { describe, expect, it } from "vitest";
import { base32 } from "../../src/shared/dlp/host-forms.js";
import { PipelockConfigSchema } from "../../src/sidecars/pipelock/config.js";
import { buildPolicy } from "../../src/sidecars/pipelock/policy.js";
import {
  exchangeOn,
  rawExchange,
  readUntilQuiet,
  startTestProxy,
  startUpstream,
  tlsTunnel,
  usePipelockTestScope,
} from "../support/sidecars/pipelock-proxy-fixture.js";

const SECRET = "Zq7+Secret/Value_Kp9=Wm";
const B32 = base32(Buffer.from(SECRET));
const EXPLAINED = "is not on this bottle's egress allowlist";
const TOOL = "`request_egress_host`";

const scope = usePipelockTestScope();

async function scenario(supervise = true) {
  const upstream = await startUpstream(scope.cas);
  scope.closeAfter(() => upstream.close());
  const config = {
    allow: [`allowed.test:${upstream.port}`, `*.wild.test:${upstream.port}`],
    dlp: { action: "block" as const, secretEnv: ["AGENT_SECRET"] },
    supervise: { enabled: supervise },
  };
  const env = { AGENT_SECRET: SECRET };
  const started = await startTestProxy(scope.cas, config, env);
  scope.closeAfter(() => started.proxy.close());
  const proxyPort = started.proxy.address.port;
  const unlisted = `unlisted.test:${upstream.port}`;
  const tunnel = async (authority = unlisted, servername?: string) => {
    const socket = await tlsTunnel(proxyPort, authority, {
      ca: scope.cas.bottle.certPem,
      ...(servername === undefined ? {} : { servername }),
    });
    scope.closeAfter(async () => socket.destroy());
    return socket;
  };
  const noSecretLogged = () => {
    const log = started.audit.raw.join("\n").toLowerCase();
    expect(log).not.toContain(B32);
    expect(log).not.toContain(SECRET.toLowerCase());
  };
  return { upstream, ...started, proxyPort, unlisted, tunnel, config, env, noSecretLogged };
}

/** Reads from `socket` until it closes or stays quiet for `quietMs`. */
describe("pipelock: a refused host's tunnel tells the refusal", () => {
  it("completes TLS for the host and answers each request, kept alive, with the 403 text", async () => {
    const s = await scenario();
    const socket = await s.tunnel();
    expect(socket.getPeerCertificate().subject?.CN ?? "").not.toBe("");
    for (const method of ["GET", "DELETE", "OPTIONS", "PATCH"]) {
      const r = await exchangeOn(
        socket,
        `${method} /x?token=1 HTTP/1.1\r\nHost: ${s.unlisted}\r\n\r\n`,
      );
      expect(r.status, method).toBe(403);
      expect(r.head, method).toMatch(
        new RegExp(`\\r\\nX-Claude-Bottle-Refusal: [^\\r\\n]*${EXPLAINED}[^\\r\\n]*${TOOL}`, "i"),
      );
      expect(r.head.toLowerCase()).not.toContain("connection: close");
      expect(r.body).toContain(`"${s.unlisted}" ${EXPLAINED}`);
      expect(r.body).toContain(`${TOOL} of the \`supervise\` server with host "unlisted.test"`);
    }
    expect(s.upstream.seen).toEqual([]);
    expect(s.proxy.mintedHosts()).toEqual([]);
    expect(s.proxy.refusalHosts()).toEqual(["unlisted.test"]);
    expect(s.audit.events.map((e) => [e.method, e.host, e.path, e.decision, e.rule])).toEqual([
      ["CONNECT", "unlisted.test", null, "denied", "not-allowlisted"],
      ...["GET", "DELETE", "OPTIONS", "PATCH"].map((m) => [
        m,
        "unlisted.test",
        "/x",
        "denied",
        "not-allowlisted",
      ]),
    ]);
  });

  it("answers a request with a body, then closes; nothing reaches the upstream", async () => {
    const s = await scenario();
    const socket = await s.tunnel();
    const body = "payload=1";
    const closed = once(socket, "close");
    const r = await exchangeOn(
      socket,
      `POST /submit HTTP/1.1\r\nHost: ${s.unlisted}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(r.status).toBe(403);
    expect(r.head.toLowerCase()).toContain("connection: close");
    await closed;
    expect(s.upstream.seen).toEqual([]);
  });

  it("answers pipelined requests one by one and an HTTP/1.0 request alike", async () => {
    const s = await scenario();
    const socket = await s.tunnel();
    const one = (path: string) => `GET ${path} HTTP/1.1\r\nHost: ${s.unlisted}\r\n\r\n`;
    socket.write(`${one("/a")}${one("/b")}GET /c HTTP/1.0\r\nHost: ${s.unlisted}\r\n\r\n`);
    const all = await readUntilQuiet(socket, 500);
    expect(all.match(/HTTP\/1\.[01] 403 /g)).toHaveLength(3);
    expect(all.match(/\r\nX-Claude-Bottle-Refusal: /gi)).toHaveLength(3);
    expect(s.upstream.seen).toEqual([]);
    expect(s.audit.events.slice(1).map((e) => e.path)).toEqual(["/a", "/b", "/c"]);
  });

  it("refuses a WebSocket upgrade inside with the text, and relays no frame", async () => {
    const s = await scenario();
    const socket = await s.tunnel();
    socket.write(
      `GET /socket HTTP/1.1\r\nHost: ${s.unlisted}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    const answer = await readUntilQuiet(socket, 500);
    expect(answer).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(answer).toContain(EXPLAINED);
    expect(answer).toMatch(/\r\nX-Claude-Bottle-Refusal: /i);
    expect(s.upstream.seen).toEqual([]);
    expect(s.upstream.wsMessages).toEqual([]);
  });

  it("shows the refusal to fetch-style clients (undici through the proxy)", async () => {
    const s = await scenario(false);
    const agent = new ProxyAgent({ uri: s.url, requestTls: { ca: scope.cas.bottle.certPem } });
    scope.closeAfter(() => agent.close());
    const res = await request(`https://${s.unlisted}/page`, { dispatcher: agent });
    expect(res.statusCode).toBe(403);
    expect(res.headers["x-claude-bottle-refusal"]).toContain(
      'ask the user to add "unlisted.test" to egress.allow',
    );
    expect(await res.body.text()).toContain(`"${s.unlisted}" ${EXPLAINED}`);
    expect(s.upstream.seen).toEqual([]);
  });

  it("answers a client that does not speak TLS with the refusal, and closes", async () => {
    const s = await scenario();
    const answer = await rawExchange(
      s.proxyPort,
      `CONNECT ${s.unlisted} HTTP/1.1\r\nHost: ${s.unlisted}\r\n\r\nGET / HTTP/1.1\r\nHost: ${s.unlisted}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 403 /);
    expect(answer).toContain(EXPLAINED);
    const junk = await rawExchange(
      s.proxyPort,
      `CONNECT ${s.unlisted} HTTP/1.1\r\nHost: ${s.unlisted}\r\n\r\nSSH-2.0-OpenSSH_9.2\r\n`,
    );
    expect(junk).toContain("Connection: close");
    expect(s.upstream.seen).toEqual([]);
  });

  it("ends the handshake when the TLS server name is another host, and logs no secret in it", async () => {
    const s = await scenario();
    for (const servername of [
      `allowed.test`,
      "other.test",
      `${B32}.wild.test`,
      `${B32}.elsewhere.test`,
    ]) {
      await expect(s.tunnel(s.unlisted, servername), servername).rejects.toThrow();
    }
    const mismatches = s.audit.events.filter((e) => e.rule === "sni-mismatch");
    expect(mismatches.map((e) => e.detail)).toEqual([
      'TLS server name "allowed.test"',
      'TLS server name "other.test"',
      'TLS server name "[redacted]"',
      'TLS server name "[redacted]"',
    ]);
    expect(s.proxy.refusalHosts()).toEqual(["unlisted.test"]);
    expect(s.upstream.seen).toEqual([]);
    s.noSecretLogged();
  });

  it("keeps the plain 403 for a name with a secret in it, and mints nothing for it", async () => {
    const s = await scenario();
    for (const name of [`${B32}.elsewhere.test`, `${B32.toUpperCase()}.elsewhere.test`]) {
      const answer = await rawExchange(
        s.proxyPort,
        `CONNECT ${name}:443 HTTP/1.1\r\nHost: ${name}:443\r\n\r\n`,
      );
      expect(answer, name).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
      expect(answer).toMatch(/\r\nX-Claude-Bottle-Refusal: [^\r\n]*\[redacted\]/);
      expect(answer.toLowerCase()).not.toContain(B32);
    }
    expect(s.proxy.refusalHosts()).toEqual([]);
    expect(s.proxy.mintedHosts()).toEqual([]);
    s.noSecretLogged();
  });

  it("keeps the plain 403 for addresses spelled as names and over-telling labels", async () => {
    const s = await scenario();
    for (const authority of [
      "127.1:443",
      "2130706433:443",
      "0x7f.1:443",
      `q3x7kd2mzr8vw4jf6tnbq3x7kd2mzr8vw4jf6tnb.wild.test:${s.upstream.port}`,
    ]) {
      const answer = await rawExchange(
        s.proxyPort,
        `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
      );
      expect(answer, authority).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
      expect(answer, authority).toMatch(/\r\nX-Claude-Bottle-Refusal: pipelock /);
    }
    expect(s.proxy.refusalHosts()).toEqual([]);
  });

  it("tells an unlisted IP address's refusal over TLS with a certificate for the address", async () => {
    const s = await scenario();
    for (const [authority, ip] of [
      ["127.0.0.1:443", "127.0.0.1"],
      ["[::1]:443", "::1"],
    ] as const) {
      const socket = connect(s.proxyPort, "127.0.0.1");
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
      const [first] = (await once(socket, "data")) as [Buffer];
      expect(first.toString("latin1")).toMatch(/^HTTP\/1\.1 200/);
      const secure = tls.connect({ socket, ca: scope.cas.bottle.certPem, host: ip });
      scope.closeAfter(async () => secure.destroy());
      await once(secure, "secureConnect");
      const r = await exchangeOn(secure, `GET / HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
      expect(r.status, authority).toBe(403);
      expect(r.body).toContain("is an IP address");
      expect(r.body).toContain(TOOL);
    }
    expect(s.proxy.refusalHosts()).toEqual(["127.0.0.1", "::1"]);
  });

  it("carries the header on a plain http:// refusal too", async () => {
    const s = await scenario();
    const answer = await rawExchange(
      s.proxyPort,
      `GET http://${s.unlisted}/ HTTP/1.1\r\nHost: ${s.unlisted}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 403 /);
    expect(answer).toMatch(new RegExp(`\\r\\nX-Claude-Bottle-Refusal: [^\\r\\n]*${TOOL}`, "i"));
    expect(answer).toContain(EXPLAINED);
    expect(s.upstream.seen).toEqual([]);
  });

  it("sends a tunnel opened before the host was approved to a new connection", async () => {
    const s = await scenario();
    const socket = await s.tunnel();
    expect((await exchangeOn(socket, `GET / HTTP/1.1\r\nHost: ${s.unlisted}\r\n\r\n`)).status).toBe(
      403,
    );
    s.proxy.setPolicy(
      buildPolicy(
        PipelockConfigSchema.parse({
          privateUpstreams: "allow",
          ...s.config,
          allow: [...s.config.allow, s.unlisted],
        }),
        s.env,
      ),
    );
    const closed = once(socket, "close");
    const retry = await exchangeOn(socket, `GET / HTTP/1.1\r\nHost: ${s.unlisted}\r\n\r\n`);
    expect(retry.status).toBe(503);
    expect(retry.body).toContain("Retry on a new connection");
    await closed;
    expect(s.upstream.seen).toEqual([]);
    const fresh = await s.tunnel();
    expect(
      (await exchangeOn(fresh, `GET /now HTTP/1.1\r\nHost: ${s.unlisted}\r\n\r\n`)).status,
    ).toBe(200);
    expect(s.upstream.seen.map((r) => r.url)).toEqual(["/now"]);
  });
});
