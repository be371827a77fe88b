import { ProxyAgent, request } from "undici";
import { describe, expect, it } from "vitest";
import {
  exchangeOn,
  rawExchange,
  startTestProxy,
  startUpstream,
  tlsTunnel,
  usePipelockTestScope,
} from "../support/sidecars/pipelock-proxy-fixture.js";

const scope = usePipelockTestScope();

async function scenario(allow: (port: number) => string[]) {
  const upstream = await startUpstream(scope.cas);
  scope.closeAfter(() => upstream.close());
  const started = await startTestProxy(scope.cas, { allow: allow(upstream.port) });
  scope.closeAfter(() => started.proxy.close());
  const agent = new ProxyAgent({ uri: started.url, requestTls: { ca: scope.cas.bottle.certPem } });
  scope.closeAfter(() => agent.close());
  return { upstream, ...started, agent };
}

function get(s: { agent: ProxyAgent }, url: string, init: Parameters<typeof request>[1] = {}) {
  return request(url, { ...init, dispatcher: s.agent });
}

describe("pipelock: allowlist and interception", () => {
  it("relays an allowlisted host through intercepted TLS", async () => {
    const s = await scenario((port) => [`api.test:${port}`]);
    const res = await get(s, `https://api.test:${s.upstream.port}/one?x=1`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-upstream"]).toBe("yes");
    expect(await res.body.json()).toMatchObject({ method: "GET", url: "/one?x=1" });
    expect(s.proxy.mintedHosts()).toEqual(["api.test"]);
    expect(s.audit.events.map((e) => [e.method, e.host, e.path, e.decision, e.status])).toEqual([
      ["CONNECT", "api.test", null, "allowed", 200],
      ["GET", "api.test", "/one", "allowed", 200],
    ]);
  });

  /** A scenario allowing api.test, and a tunnel to it that pipelock intercepts. */
  async function apiTunnel() {
    const s = await scenario((port) => [`api.test:${port}`]);
    const authority = `api.test:${s.upstream.port}`;
    const tunnel = await tlsTunnel(s.proxy.address.port, authority, {
      ca: scope.cas.bottle.certPem,
    });
    scope.closeAfter(async () => tunnel.destroy());
    return { s, authority, tunnel };
  }

  it("shows an idle event stream's response head at once, before any event", async () => {
    const { authority, tunnel } = await apiTunnel();
    const res = await exchangeOn(tunnel, `GET /idle-stream HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    expect(res.status).toBe(200);
    expect(res.head).toMatch(/content-type: text\/event-stream/i);
    expect(res.body).toBe("");
  });

  it("keeps an intercepted connection alive across requests", async () => {
    const { s, authority, tunnel } = await apiTunnel();
    for (const path of ["/a", "/b", "/c"]) {
      const res = await exchangeOn(tunnel, `GET ${path} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
      expect(res.status).toBe(200);
    }
    expect(s.audit.events.filter((e) => e.method === "CONNECT")).toHaveLength(1);
    expect(s.upstream.seen.map((r) => r.url)).toEqual(["/a", "/b", "/c"]);
  });

  it("refuses an unlisted host inside its tunnel with an explanation, and never goes upstream", async () => {
    const s = await scenario((port) => [`api.test:${port}`]);
    const res = await get(s, "https://evil.test/");
    expect(res.statusCode).toBe(403);
    expect(res.headers["x-claude-bottle-refusal"]).toBe(
      `pipelock (this bottle's egress firewall) blocked this request: "evil.test:443" is not on this bottle's egress allowlist. If you need it, ask the user to add "evil.test" to egress.allow in this bottle's manifest.`,
    );
    expect(await res.body.text()).toBe(
      `pipelock (this bottle's egress firewall) blocked this request: "evil.test:443" is not on this bottle's egress allowlist.\nIf you need it, ask the user to add "evil.test" to egress.allow in this bottle's manifest.\n`,
    );
    expect(s.proxy.mintedHosts()).toEqual([]);
    expect(s.proxy.refusalHosts()).toEqual(["evil.test"]);
    expect(s.upstream.seen).toEqual([]);
    expect(s.audit.events[0]).toMatchObject({
      method: "CONNECT",
      host: "evil.test",
      port: 443,
      decision: "denied",
      rule: "not-allowlisted",
    });
  });

  it("names the supervise tool when supervision is on", async () => {
    const upstream = await startUpstream(scope.cas);
    scope.closeAfter(() => upstream.close());
    const s = await startTestProxy(scope.cas, { allow: [], supervise: { enabled: true } });
    scope.closeAfter(() => s.proxy.close());
    const tunnel = await tlsTunnel(s.proxy.address.port, "evil.test:443", {
      ca: scope.cas.bottle.certPem,
    });
    scope.closeAfter(async () => tunnel.destroy());
    const answer = await exchangeOn(tunnel, "GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n");
    const ask =
      'To ask for it, call the MCP tool `request_egress_host` of the `supervise` server with host "evil.test" and why you need it';
    expect(answer.body).toContain(ask);
    expect(answer.head).toContain(ask);
  });

  it("denies IP literals unless listed, whatever wildcards say", async () => {
    const s = await scenario((port) => [`api.test:${port}`, "*.test"]);
    for (const authority of ["127.0.0.1:443", "[::1]:443", "2130706433:443", "127.1:443"]) {
      const spelledAsName = !authority.startsWith("[") && !/^\d+\.\d+\.\d+\.\d+:/.test(authority);
      const answer = spelledAsName
        ? await rawExchange(
            s.proxy.address.port,
            `CONNECT ${authority} HTTP/1.1\r\nHost: x\r\n\r\n`,
          )
        : (
            await exchangeOn(
              await tlsTunnel(s.proxy.address.port, authority, {
                ca: scope.cas.bottle.certPem,
                servername: "",
                checkName: false,
              }),
              `GET / HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
            )
          ).body;
      if (spelledAsName) expect(answer, authority).toMatch(/^HTTP\/1\.1 403/);
      expect(answer, authority).toContain(
        "is an IP address, and addresses are reachable only when listed one by one",
      );
      expect(answer, authority).toContain("egress.allow_ips");
    }
    expect(s.audit.events.every((e) => e.rule === "ip-literal")).toBe(true);
    expect(s.upstream.seen).toEqual([]);
  });

  it("reaches a listed IP address", async () => {
    const s = await scenario((port) => [`127.0.0.1:${port}`]);
    const socket = await tlsTunnel(s.proxy.address.port, `127.0.0.1:${s.upstream.port}`, {
      ca: scope.cas.bottle.certPem,
      servername: "",
      checkName: false,
    }).catch((e: Error) => e);
    // The fake upstream has no certificate for an address: what matters is that pipelock let it through.
    expect(s.audit.events[0]).toMatchObject({
      method: "CONNECT",
      host: "127.0.0.1",
      decision: "allowed",
    });
    if (!(socket instanceof Error)) socket.destroy();
  });

  it("refuses a request whose SNI or Host disagrees with the CONNECT target", async () => {
    const s = await scenario((port) => [`api.test:${port}`, `other.test:${port}`]);
    const authority = `api.test:${s.upstream.port}`;
    const ca = scope.cas.bottle.certPem;

    const sni = await tlsTunnel(s.proxy.address.port, authority, {
      ca,
      servername: "other.test",
      checkName: false,
    });
    const bySni = await exchangeOn(sni, `GET / HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    sni.destroy();
    expect(bySni.status).toBe(403);
    expect(bySni.body).toContain(
      'the tunnel was opened to "api.test" but the TLS server name (SNI) names "other.test"',
    );

    const host = await tlsTunnel(s.proxy.address.port, authority, { ca });
    const byHost = await exchangeOn(
      host,
      `GET / HTTP/1.1\r\nHost: other.test:${s.upstream.port}\r\n\r\n`,
    );
    host.destroy();
    expect(byHost.status).toBe(403);
    expect(byHost.body).toContain('but the Host header names "other.test');

    expect(s.upstream.seen).toEqual([]);
    expect(s.audit.events.filter((e) => e.decision === "denied").map((e) => e.rule)).toEqual([
      "sni-mismatch",
      "host-mismatch",
    ]);
    expect(s.proxy.mintedHosts()).toEqual(["api.test"]);
  });

  it("forwards absolute-form http:// requests to allowlisted hosts only", async () => {
    const plain = await startUpstream(scope.cas, false);
    scope.closeAfter(() => plain.close());
    const s = await startTestProxy(scope.cas, { allow: [`api.test:${plain.port}`] });
    scope.closeAfter(() => s.proxy.close());
    const ok = await rawExchange(
      s.proxy.address.port,
      `GET http://api.test:${plain.port}/hello HTTP/1.1\r\nHost: api.test:${plain.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
    expect(plain.seen.map((r) => r.url)).toEqual(["/hello"]);
    const denied = await rawExchange(
      s.proxy.address.port,
      "GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n",
    );
    expect(denied).toMatch(/^HTTP\/1\.1 403/);
    const fronted = await rawExchange(
      s.proxy.address.port,
      `GET http://api.test:${plain.port}/ HTTP/1.1\r\nHost: evil.test\r\n\r\n`,
    );
    expect(fronted).toMatch(/^HTTP\/1\.1 403/);
    expect(plain.seen).toHaveLength(1);
  });

  it("answers its health check on its own address", async () => {
    const s = await startTestProxy(scope.cas, { allow: [] });
    scope.closeAfter(() => s.proxy.close());
    const res = await request(`${s.url}/__pipelock/healthz`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe("ok\n");
  });
});
