// The egress plane of a real bottle with routes, supervision and `dlp: block`: the agent's
// proxy is egress, which relays to pipelock. Every request is sent from inside the agent to a
// stand-in upstream that exists only on the bottle's egress network.
import { expect, it } from "vitest";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  ALLOWED,
  AWS_KEY,
  type ExchangeResult,
  frontedTunnels,
  GITHUB_TOKEN,
  gzipThenChunked,
  httpRequest,
  KNOWN_SECRET,
  planeBottle,
  type RawResponse,
  ROUTE_HOST,
  ROUTE_TOKEN,
  requestInTunnel,
  secretForms,
  secretPlaces,
  UNLISTED,
  usePlane,
  waitFor,
} from "./plane-fixture.js";
import { webSocketExchange, wsClientFrame, wsServerFrames } from "./plane-websocket.js";

const BOTTLE = planeBottle({ knownSecret: true, route: true, dlp: "block", supervise: true });

const PLACES = secretPlaces("dlp");

const SECRETS = [
  { name: "an AWS key", value: AWS_KEY, rule: "aws-access-token" },
  { name: "a GitHub token", value: GITHUB_TOKEN, rule: "github-pat" },
  { name: "the bottle's known secret", value: KNOWN_SECRET, rule: "known-secret" },
];

describeWithEngine("egress plane: dlp block, routes, supervision", () => {
  const plane = usePlane({
    name: "plane-block",
    bottleYaml: BOTTLE,
    upstreamHosts: [ALLOWED, ROUTE_HOST, UNLISTED],
  });

  // Interception must be pipelock's own: a leaf from the bottle CA, trusted by the agent only.
  it("reaches an allowlisted host with a leaf pipelock minted from the bottle CA", async () => {
    const r = await plane.curl(["-v", `https://${ALLOWED}/hello`]);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ ok: true, url: "/hello" });
    expect(r.stderr).toContain(`issuer: CN=claude-bottle pipelock ${plane.bottle.slug}`);
    expect(r.stderr).toContain("SSL certificate verify ok");

    const raw = await requestInTunnel(
      plane,
      `${ALLOWED}:443`,
      httpRequest("GET", "/raw", { Host: ALLOWED }),
    );
    expect(raw.peer).toEqual({
      subject: ALLOWED,
      issuer: `claude-bottle pipelock ${plane.bottle.slug}`,
      authorized: true,
      error: null,
    });
    expect(raw.responses[0]?.status).toBe(200);
  });

  // An agent that hits a wall must learn which host and how to ask for it, at CONNECT and for http.
  it("refuses an unlisted host with a 403 naming it and the supervise tool", async () => {
    const since = new Date();
    const tunnel = await requestInTunnel(
      plane,
      `${UNLISTED}:443`,
      httpRequest("GET", "/unlisted-tunnel", { Host: UNLISTED }),
    );
    // Through egress too: pipelock's tunnel, certificate and answer, relayed untouched.
    expect(tunnel.connect?.status).toBe(200);
    expect(tunnel.peer).toMatchObject({ subject: UNLISTED, authorized: true });
    const inside = tunnel.responses[0];
    expect(inside?.status).toBe(403);
    expect(inside?.body).toContain(`"${UNLISTED}:443" is not on this bottle's egress allowlist`);
    expect(inside?.body).toContain("`request_egress_host`");
    expect(inside?.body).toContain(`host "${UNLISTED}"`);
    expect(inside?.head).toMatch(/\r\nx-claude-bottle-refusal: [^\r\n]*`request_egress_host`/i);

    const forward = await plane.curl([`http://${UNLISTED}/unlisted-forward`]);
    expect(forward.status).toBe(403);
    expect(forward.body).toContain(`"${UNLISTED}:80" is not on this bottle's egress allowlist`);
    expect(forward.body).toContain("`request_egress_host`");

    expect(await plane.seen("/unlisted")).toEqual([]);
    // CONNECT refused, the GET inside it refused, the forwarded GET refused.
    const audit = await plane.auditSince(since, 3);
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          method: "CONNECT",
          host: UNLISTED,
          port: 443,
          decision: "denied",
          rule: "not-allowlisted",
        }),
        expect.objectContaining({
          method: "GET",
          host: UNLISTED,
          port: 80,
          decision: "denied",
          rule: "not-allowlisted",
        }),
      ]),
    );
  });

  // A raw address bypasses every name-based rule, so it is refused unless listed as an address.
  it("refuses the upstream's own IP address, in any spelling, by CONNECT and by http", async () => {
    const ip = plane.upstreamIp;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const ask = (authority: string) =>
      plane.exchange({
        connect: authority,
        tls: { verifyHost: false },
        steps: [
          { send: [{ text: httpRequest("GET", "/ip-literal-tunnel", { Host: authority }) }] },
        ],
      });
    const tunnel = await ask(`${ip}:443`);
    // An address is told inside a tunnel (its certificate names the address) ...
    expect(tunnel.connect?.status).toBe(200);
    expect(refusalOf(tunnel)?.status).toBe(403);
    expect(refusalOf(tunnel)?.body).toContain(`"${ip}:443" is an IP address`);
    // Resolvers read these as the same address: decimal, hex, IPv4-mapped IPv6, trailing dot.
    // ... an address spelled as a name only on the CONNECT: no client checks a certificate
    // against "3232235778".
    const number = ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
    for (const [spelling, connect] of [
      [`${number}`, 403],
      [`0x${number.toString(16)}`, 403],
      [`[::ffff:${ip}]`, 200],
      [`${ip}.`, 200],
    ] as const) {
      const other = await ask(`${spelling}:443`);
      expect(other.connect?.status, spelling).toBe(connect);
      expect(refusalOf(other)?.status, spelling).toBe(403);
      expect(refusalOf(other)?.body).toContain("is an IP address");
    }
    expect(await plane.seen("/ip-literal-tunnel")).toEqual([]);
    const forward = await plane.curl([`http://${ip}/ip-literal`]);
    expect(forward.status).toBe(403);
    expect(forward.body).toContain(`"${ip}:80" is an IP address`);
    expect(await plane.seen("/ip-literal")).toEqual([]);
  });

  // Domain fronting: a tunnel to an allowed host must not carry a request for another one.
  it("refuses a TLS server name or Host header that disagrees with the CONNECT host", async () => {
    const since = new Date();
    const { sni, host } = await frontedTunnels(plane);
    expect(sni.responses[0]?.status).toBe(403);
    expect(sni.responses[0]?.body).toContain(`TLS server name (SNI) names "${UNLISTED}"`);
    expect(host.responses[0]?.status).toBe(403);
    expect(host.responses[0]?.body).toContain(`the Host header names "${UNLISTED}"`);

    const forward = await plane.exchange({
      steps: [
        {
          send: [
            {
              text: httpRequest("GET", `http://${ALLOWED}/fronting-forward`, {
                Host: UNLISTED,
                Connection: "close",
              }),
            },
          ],
        },
      ],
    });
    expect(forward.responses[0]?.status).toBe(403);
    // egress answers plain http itself, naming only the site the URL names: the Host header
    // is the agent's text and may carry a secret egress cannot recognise.
    expect(forward.responses[0]?.body).toContain(
      `the Host header names another site than ${ALLOWED}:80`,
    );

    expect(await plane.seen("/fronting")).toEqual([]);
    // Two tunnels opened, three requests refused.
    const rules = (await plane.auditSince(since, 5)).map((l) => l.rule);
    expect(rules).toEqual(expect.arrayContaining(["sni-mismatch", "host-mismatch"]));
  });

  // A route host's tunnel is egress's: a Host naming another site must not be given the token.
  it("refuses a route-host tunnel whose Host header names another site", async () => {
    const r = await requestInTunnel(
      plane,
      `${ROUTE_HOST}:443`,
      httpRequest("GET", "/v1/fronted", { Host: ALLOWED, Connection: "close" }),
    );
    expect(r.peer?.issuer).toBe(`claude-bottle egress ${plane.bottle.slug}`);
    expect(r.responses[0]?.status).toBe(421);
    expect(await plane.seen("/v1/fronted")).toEqual([]);
  });

  // An allowed name is not an open door: other ports of the same host stay closed.
  it("refuses a CONNECT to another port of an allowed host", async () => {
    for (const port of [8443, 22]) {
      const r = await requestInTunnel(
        plane,
        `${ALLOWED}:${port}`,
        httpRequest("GET", "/other-port", { Host: ALLOWED }),
      );
      expect(r.connect?.status).toBe(200);
      expect(refusalOf(r)?.status).toBe(403);
      expect(refusalOf(r)?.body).toContain(
        `"${ALLOWED}:${port}" is not on this bottle's egress allowlist`,
      );
    }
    const viaUrl = await plane.curl([`https://${ALLOWED}:8443/other-port`]);
    expect(viaUrl.status).toBe(403);
    expect(viaUrl.body).toContain(`"${ALLOWED}:8443" is not on this bottle's egress allowlist`);
    expect(await plane.seen("/other-port")).toEqual([]);
  });

  // Exfiltration: no part of a request may carry a credential or the bottle's own secret out.
  for (const place of PLACES) {
    it(`blocks a secret in the ${place.where} with a 403 naming rule and place, never the value`, async () => {
      for (const secret of SECRETS) {
        const since = new Date();
        let r = await plane.curl(place.args(secret.value));
        // Once in many CI runs curl got no HTTP answer at all (000); what this case tests is
        // pipelock's decision, so a transport failure is tried once more and reported if it
        // happens again. Nothing may have reached the upstream either way (checked below).
        if (r.status === 0) r = await plane.curl(place.args(secret.value));
        expect(r.status, `${secret.name} in the ${place.where}: ${r.stderr}`).toBe(403);
        expect(r.body).toContain(`(rule ${secret.rule}) in ${place.location}`);
        expect(r.body).not.toContain(secret.value);
        const audit = await plane.auditSince(since, 2);
        expect(audit).toContainEqual(
          expect.objectContaining({
            host: ALLOWED,
            decision: "dlp_block",
            rule: secret.rule,
            location: place.location,
            status: 403,
          }),
        );
      }
      expect(await plane.seen(`/dlp/${place.where}`)).toEqual([]);
      const logs = await plane.pipelockLogs();
      for (const form of secretForms()) expect(logs).not.toContain(form);
    });
  }

  // Encoding a secret must not be a way around the scanner.
  it("blocks the known secret base64- and hex-encoded, gzip'd, and split across chunks", async () => {
    // The value the agent holds is the one DLP looks for.
    expect((await plane.bottle.exec("printenv CB_KNOWN_SECRET")).stdout.trim()).toBe(KNOWN_SECRET);
    const since = new Date();
    const base64 = await plane.curl([
      "-H",
      "content-type: application/json",
      "--data-binary",
      JSON.stringify({ data: Buffer.from(`user:${KNOWN_SECRET}`).toString("base64") }),
      `https://${ALLOWED}/enc/base64`,
    ]);
    expect(base64.status).toBe(403);
    const hex = await plane.curl([
      `https://${ALLOWED}/enc/hex?d=${Buffer.from(KNOWN_SECRET).toString("hex")}`,
    ]);
    expect(hex.status).toBe(403);

    const r = await gzipThenChunked(plane, {
      host: ALLOWED,
      gzip: {
        path: "/enc/gzip",
        contentType: "application/json",
        body: JSON.stringify({ k: KNOWN_SECRET }),
      },
      chunked: {
        path: "/enc/chunked",
        pieces: [`token=${KNOWN_SECRET.slice(0, 13)}`, KNOWN_SECRET.slice(13)],
        delayMs: 300,
      },
    });
    expect(r.responses.map((x) => x.status)).toEqual([403, 403]);

    expect(await plane.seen("/enc/")).toEqual([]);
    // Three tunnels, four requests.
    const audit = await plane.auditSince(since, 7);
    const blocked = audit.filter((l) => l.decision === "dlp_block");
    expect(blocked.map((l) => [l.path, l.rule, l.location])).toEqual([
      ["/enc/base64", "known-secret", "body.json:$.data"],
      ["/enc/hex", "known-secret", "query"],
      ["/enc/gzip", "known-secret", "body.json:$.k"],
      ["/enc/chunked", "known-secret", "body"],
    ]);
  });

  // Large bodies are scanned in pipelock's worker threads: the same verdicts, the bytes intact.
  it("blocks the known secret deep in a 3 MiB body, and passes a clean one whole", async () => {
    const since = new Date();
    const made = await plane.bottle.exec(
      [
        "yes 'const value = compute(input, options);' | head -c 2000000 > /tmp/clean.txt",
        "cp /tmp/clean.txt /tmp/leak.txt",
        'printf "token=%s\\n" "$CB_KNOWN_SECRET" >> /tmp/leak.txt',
        "cat /tmp/clean.txt >> /tmp/leak.txt",
        "sha256sum /tmp/clean.txt",
      ].join(" && "),
    );
    const cleanSha = made.stdout.trim().split(/\s+/)[0];
    const post = (name: string) =>
      plane.curl([
        "--data-binary",
        `@/tmp/${name}.txt`,
        "-H",
        "content-type: text/plain",
        `https://${ALLOWED}/big/${name}`,
      ]);
    const clean = await post("clean");
    expect(clean.status, clean.stderr).toBe(200);
    const leak = await post("leak");
    expect(leak.status, leak.stderr).toBe(403);
    expect(leak.body).toContain("(rule known-secret) in body");
    expect(leak.body).not.toContain(KNOWN_SECRET);
    expect((await plane.seen("/big/")).map((q) => [q.url, q.bodyLength, q.bodySha256])).toEqual([
      ["/big/clean", 2_000_000, cleanSha],
    ]);
    // Two tunnels, two requests.
    const audit = await plane.auditSince(since, 4);
    const requests = audit.filter((l) => l.method === "POST");
    expect(requests.map((l) => [l.path, l.decision, l.rule])).toEqual([
      ["/big/clean", "allowed", null],
      ["/big/leak", "dlp_block", "known-secret"],
    ]);
  });

  // WebSocket messages are a channel of their own: each is scanned, however it is fragmented.
  it("blocks a secret in a WebSocket message, even split across fragments", async () => {
    const since = new Date();
    const r = await webSocketExchange(plane, {
      host: ALLOWED,
      path: "/ws/echo",
      messages: [
        { send: [{ text: wsClientFrame(1, "hello, upstream") }] },
        {
          send: [
            { text: wsClientFrame(1, `token=${KNOWN_SECRET.slice(0, 10)}`, false) },
            { text: wsClientFrame(0, KNOWN_SECRET.slice(10)), delayMs: 200 },
          ],
        },
      ],
    });
    expect(r.responses[0]?.status).toBe(101);
    expect(wsServerFrames(r.responses[1]?.body ?? "")).toEqual([
      { opcode: 1, payload: Buffer.from("hello, upstream") },
    ]);
    const [close] = wsServerFrames(r.responses[2]?.body ?? "");
    expect(close?.opcode).toBe(8);
    expect(close?.payload.readUInt16BE(0)).toBe(1008);
    expect(close?.payload.toString()).not.toContain(KNOWN_SECRET);
    expect(r.responses[2]?.closed).toBe(true);

    const messages = (await plane.seen("/ws/echo")).filter((q) => q.method === "WS-MESSAGE");
    expect(messages.map((m) => m.bodyLength)).toEqual(["hello, upstream".length]);
    // The tunnel, the upgrade, the blocked message.
    expect(await plane.auditSince(since, 3)).toContainEqual(
      expect.objectContaining({
        decision: "dlp_block",
        rule: "known-secret",
        location: "websocket",
      }),
    );
  });

  // Trailers come after the body: a secret there must not slip past a scan of headers and body.
  it("never lets a secret in a chunked trailer reach the upstream", async () => {
    const r = await requestInTunnel(
      plane,
      `${ALLOWED}:443`,
      `${httpRequest("POST", "/trailer", {
        Host: ALLOWED,
        "Transfer-Encoding": "chunked",
        Trailer: "X-Signature",
      })}5\r\nhello\r\n0\r\nX-Signature: ${KNOWN_SECRET}\r\n\r\n`,
    );
    // Refused, or passed with the trailer dropped: either way nothing of it arrives.
    expect([200, 403]).toContain(r.responses[0]?.status);
    const seen = await plane.seen("/trailer");
    expect(JSON.stringify(seen)).not.toContain(KNOWN_SECRET);
    for (const q of seen) expect(q.trailers ?? {}).toEqual({});
  });

  // The credential is added outside the agent: the agent's own never reaches the API with it.
  it("injects the route token upstream, strips the agent's credentials, and never shows the token", async () => {
    const r = await plane.curl([
      "-v",
      "-H",
      "Authorization: Bearer agent-own-credential",
      "-H",
      "X-Api-Key: agent-own-key",
      `https://${ROUTE_HOST}/v1/models`,
    ]);
    expect(r.status).toBe(200);
    expect(r.stderr).toContain(`issuer: CN=claude-bottle egress ${plane.bottle.slug}`);
    const [seen, ...more] = await plane.seen("/v1/models");
    expect(more).toEqual([]);
    expect(seen?.headers.authorization).toBe(`Bearer ${ROUTE_TOKEN}`);
    expect(seen?.headers["x-api-key"]).toBeUndefined();

    const routes = await plane.curl(["--noproxy", "*", "http://egress:8080/__egress/routes"]);
    expect(routes.status).toBe(200);
    expect(JSON.parse(routes.body)).toEqual({
      routes: [expect.objectContaining({ host: ROUTE_HOST, paths: ["/v1/"], scheme: "Bearer" })],
    });
    expect(routes.body).not.toContain(ROUTE_TOKEN);
    const env = await plane.bottle.exec("env; cat /proc/1/environ");
    expect(env.stdout).not.toContain(ROUTE_TOKEN);
    expect(await plane.pipelockLogs()).not.toContain(ROUTE_TOKEN);
    expect(await plane.egressLogs()).not.toContain(ROUTE_TOKEN);

    // Never in clear text, and never to a path a server could resolve outside the route.
    const plain = await plane.curl([`http://${ROUTE_HOST}/v1/plain`]);
    expect(plain.status).toBe(200);
    const dotted = await plane.curl(["--path-as-is", `https://${ROUTE_HOST}/v1/../private`]);
    expect(dotted.status).toBe(200);
    const outside = [...(await plane.seen("/v1/plain")), ...(await plane.seen("/private"))];
    expect(outside).toHaveLength(2);
    for (const q of outside) expect(JSON.stringify(q.headers)).not.toContain(ROUTE_TOKEN);
  });

  // egress logs every host and path it relays: a secret in a URL must not land in that log.
  it("keeps secrets in a URL's path or host name out of egress's request log", async () => {
    // Egress knows only route tokens; paths and host names are the agent's to fill.
    const requestLines = async () =>
      (await plane.egressLogs()).split("\n").filter((l) => l.includes('"event":"request"'));
    const before = (await requestLines()).length;
    const routed = await plane.curl([`https://${ROUTE_HOST}/v1/leak/${KNOWN_SECRET}`]);
    expect(routed.status).toBe(403);
    const forwarded = await plane.curl([`http://${ALLOWED}/leak/${AWS_KEY}`]);
    expect(forwarded.status).toBe(403);
    const named = await plane.exchange({
      connect: `${KNOWN_SECRET}.leak.example.test:443`,
      steps: [],
    });
    // A name carrying a secret is never minted: the plain 403, on the CONNECT.
    expect(named.connect?.status).toBe(403);
    expect(named.connect?.body).not.toContain(KNOWN_SECRET);
    expect(named.connect?.head).not.toContain(KNOWN_SECRET);
    const lines = await waitFor("egress to log all three", async () => {
      const found = (await requestLines()).slice(before);
      return found.length >= 3 ? found : undefined;
    });
    for (const line of lines) {
      expect(line).not.toContain(KNOWN_SECRET);
      expect(line).not.toContain(AWS_KEY);
      expect(line).not.toContain("leak");
    }
  });
});

/** A refusal as the agent reads it: inside the tunnel pipelock answered, else on the CONNECT. */
function refusalOf(r: ExchangeResult): RawResponse | undefined {
  return r.connect?.status === 200 ? r.responses[0] : r.connect;
}
