import { gzipSync } from "node:zlib";
import { ProxyAgent, request } from "undici";
import { describe, expect, it } from "vitest";
import type { PipelockConfigInput } from "../../src/sidecars/pipelock/config.js";
import { FAKE_CREDENTIALS } from "../support/fixtures/fake-credentials.js";
import {
  exchangeOn,
  startTestProxy,
  startUpstream,
  tlsTunnel,
  usePipelockTestScope,
} from "../support/sidecars/pipelock-proxy-fixture.js";

const TOKEN = FAKE_CREDENTIALS["github-pat"]?.hit ?? "";
const SECRET = "correct-horse-battery-staple-42";
const ENV = { DB_PASSWORD: SECRET, MODEL_TOKEN: FAKE_CREDENTIALS["anthropic-api-key"]?.hit ?? "" };

const scope = usePipelockTestScope();

type Dlp = PipelockConfigInput["dlp"];

async function scenario(
  dlp: Dlp | ((port: number) => Dlp),
  extra: Partial<PipelockConfigInput> = {},
) {
  const upstream = await startUpstream(scope.cas);
  scope.closeAfter(() => upstream.close());
  const config: PipelockConfigInput = {
    allow: [`api.test:${upstream.port}`],
    dlp: typeof dlp === "function" ? dlp(upstream.port) : dlp,
    ...extra,
  };
  const started = await startTestProxy(scope.cas, config, ENV);
  scope.closeAfter(() => started.proxy.close());
  const agent = new ProxyAgent({ uri: started.url, requestTls: { ca: scope.cas.bottle.certPem } });
  scope.closeAfter(() => agent.close());
  const base = `https://api.test:${upstream.port}`;
  const send = (path: string, init: Parameters<typeof request>[1] = {}) =>
    request(`${base}${path}`, { method: "POST", ...init, dispatcher: agent });
  const noSecretLogged = () => {
    const log = started.audit.raw.join("\n");
    expect(log).not.toContain(TOKEN.slice(4));
    expect(log).not.toContain(SECRET);
  };
  return { upstream, ...started, send, base, noSecretLogged };
}

const BLOCK: Dlp = { action: "block", secretEnv: ["DB_PASSWORD"] };

describe("pipelock: DLP on requests", () => {
  it.each([
    [
      "body",
      "/v1",
      {
        body: JSON.stringify({ a: { b: `token ${TOKEN}` } }),
        headers: { "content-type": "application/json" },
      },
      "body.json:$.a.b",
    ],
    ["header", "/v1", { headers: { "x-foo": `bearer ${TOKEN}` } }, "header:x-foo"],
    ["query", `/v1?t=${TOKEN}`, {}, "query"],
    ["path", `/v1/${TOKEN}/x`, {}, "path"],
  ])(
    "blocks a credential in the %s with a 403 that names rule and place",
    async (_part, path, init, location) => {
      const s = await scenario(BLOCK);
      const res = await s.send(path, init);
      const text = await res.body.text();
      expect(res.statusCode).toBe(403);
      expect(text).toContain(
        `pipelock (this bottle's egress firewall) blocked this request to api.test: it carries what looks like a secret:\n  - a GitHub personal access token (rule github-pat) in ${location}\n`,
      );
      expect(text).not.toContain(TOKEN.slice(4));
      expect(s.upstream.seen).toEqual([]);
      const event = s.audit.events.find((e) => e.decision === "dlp_block");
      expect(event).toMatchObject({ rule: "github-pat", location, status: 403 });
      expect(event?.path).toBe(location === "path" ? "[redacted]" : "/v1");
      s.noSecretLogged();
    },
  );

  it("passes and logs under warn", async () => {
    const s = await scenario({ action: "warn", secretEnv: ["DB_PASSWORD"] });
    const res = await s.send("/v1", {
      body: `pw=${SECRET}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(s.upstream.seen.map((r) => r.body)).toEqual([`pw=${SECRET}`]);
    expect(s.audit.events.at(-1)).toMatchObject({
      method: "POST",
      decision: "dlp_warn",
      rule: "known-secret",
      location: "body.form:pw",
      status: 200,
    });
    s.noSecretLogged();
  });

  it("finds a known secret in base64", async () => {
    const s = await scenario(BLOCK);
    const basic = Buffer.from(`admin:${SECRET}`).toString("base64");
    const res = await s.send("/login", { headers: { authorization: `Basic ${basic}` } });
    expect(res.statusCode).toBe(403);
    expect(await res.body.text()).toContain(
      "the value of secret DB_PASSWORD (rule known-secret) in header:authorization",
    );
    s.noSecretLogged();
  });

  it("inflates a gzip body before scanning", async () => {
    const s = await scenario(BLOCK);
    const res = await s.send("/upload", {
      body: gzipSync(`log line\n${TOKEN}\n`),
      headers: { "content-encoding": "gzip", "content-type": "text/plain" },
    });
    expect(res.statusCode).toBe(403);
    expect(await res.body.text()).toContain("(rule github-pat) in body");
  });

  it("reassembles a chunked body whose chunks split the secret", async () => {
    const s = await scenario(BLOCK);
    const authority = `api.test:${s.upstream.port}`;
    const tunnel = await tlsTunnel(s.proxy.address.port, authority, {
      ca: scope.cas.bottle.certPem,
    });
    scope.closeAfter(async () => tunnel.destroy());
    const [a, b] = [SECRET.slice(0, 10), SECRET.slice(10)];
    const chunk = (t: string) => `${Buffer.byteLength(t).toString(16)}\r\n${t}\r\n`;
    const res = await exchangeOn(
      tunnel,
      `POST /c HTTP/1.1\r\nHost: ${authority}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(`x=${a}`)}${chunk(b)}0\r\n\r\n`,
    );
    expect(res.status).toBe(403);
    expect(res.body).toContain("rule known-secret");
    expect(s.upstream.seen).toEqual([]);
  });

  it("refuses bodies it cannot decode or that are too large", async () => {
    const s = await scenario(BLOCK, { maxBodyBytes: 1024 });
    const zstd = await s.send("/z", { body: "abc", headers: { "content-encoding": "zstd" } });
    expect(zstd.statusCode).toBe(403);
    expect(await zstd.body.text()).toContain(
      'it cannot check the body for secrets (content-encoding "zstd")',
    );
    const big = await s.send("/big", { body: "x".repeat(2048) });
    expect(big.statusCode).toBe(413);
    expect(await big.body.text()).toContain("its body is larger than 1024 bytes");
    const bomb = await s.send("/bomb", {
      body: gzipSync(Buffer.alloc(64 * 1024)),
      headers: { "content-encoding": "gzip" },
    });
    expect(bomb.statusCode).toBe(413);
    await bomb.body.text();
    expect(s.upstream.seen).toEqual([]);
    expect(s.audit.events.filter((e) => e.method === "POST").map((e) => e.rule)).toEqual([
      "unscannable-encoding",
      "body-too-large",
      "body-too-large",
    ]);
  });

  it("lets a secret reach the host it is granted to, and only that one", async () => {
    // Granted to api.test on the default ports: not to the port the fake upstream listens on.
    const s = await scenario({
      action: "block",
      secretEnv: [{ env: "MODEL_TOKEN", hosts: ["api.test"] }],
    });
    const denied = await s.send("/v1", { headers: { "x-api-key": ENV.MODEL_TOKEN } });
    expect(denied.statusCode).toBe(403);
    await denied.body.text();

    const granted = await scenario((port) => ({
      action: "block",
      secretEnv: [{ env: "MODEL_TOKEN", hosts: [`api.test:${port}`] }],
    }));
    const ok = await granted.send("/v1", { headers: { "x-api-key": ENV.MODEL_TOKEN } });
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
    const other = await granted.send("/v1", {
      headers: { "x-api-key": ENV.MODEL_TOKEN, "x-leak": TOKEN },
    });
    expect(other.statusCode).toBe(403);
    expect(await other.body.text()).toContain("(rule github-pat) in header:x-leak");
  });
});
