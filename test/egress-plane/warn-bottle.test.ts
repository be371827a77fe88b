// The egress plane of a real bottle with `dlp: warn`, no routes and no supervision: the agent
// talks to pipelock directly. Secrets pass, and every one is logged by rule and place.
import { expect, it } from "vitest";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  ALLOWED,
  AWS_KEY,
  frontedTunnels,
  GITHUB_TOKEN,
  gzipThenChunked,
  httpRequest,
  KNOWN_SECRET,
  planeBottle,
  requestInTunnel,
  secretForms,
  secretPlaces,
  UNLISTED,
  usePlane,
} from "./plane-fixture.js";

const BOTTLE = planeBottle({ knownSecret: true, dlp: "warn" });

const SECRETS = [
  { value: AWS_KEY, rule: "aws-access-token" },
  { value: GITHUB_TOKEN, rule: "github-pat" },
  { value: KNOWN_SECRET, rule: "known-secret" },
];

describeWithEngine("egress plane: dlp warn, no routes, no supervision", () => {
  const plane = usePlane({
    name: "plane-warn",
    bottleYaml: BOTTLE,
    upstreamHosts: [ALLOWED, UNLISTED],
  });

  // Without routes the agent's proxy is pipelock itself, and it still intercepts with the bottle CA.
  it("reaches an allowlisted host straight through pipelock, with its leaf", async () => {
    const proxy = await plane.bottle.exec("printenv HTTPS_PROXY");
    expect(proxy.stdout.trim()).toBe(`http://${plane.bottle.pipelockContainer}:8888`);
    const r = await plane.curl(["-v", `https://${ALLOWED}/hello`]);
    expect(r.status).toBe(200);
    expect(r.stderr).toContain(`issuer: CN=claude-bottle pipelock ${plane.bottle.slug}`);
  });

  // Unsupervised, a refusal must say which manifest key a person would edit.
  it("refuses an unlisted host with a 403 telling the agent to ask the user", async () => {
    const tunnel = await requestInTunnel(
      plane,
      `${UNLISTED}:443`,
      httpRequest("GET", "/unlisted-tunnel", { Host: UNLISTED }),
    );
    // Told inside a tunnel whose certificate the agent trusts, so every client shows it.
    expect(tunnel.connect?.status).toBe(200);
    expect(tunnel.peer?.authorized).toBe(true);
    expect(tunnel.responses[0]?.status).toBe(403);
    expect(tunnel.responses[0]?.head).toMatch(
      /\r\nx-claude-bottle-refusal: [^\r\n]*ask the user to add/i,
    );
    expect(tunnel.responses[0]?.body).toBe(
      `pipelock (this bottle's egress firewall) blocked this request: "${UNLISTED}:443" is not on this bottle's egress allowlist.\n` +
        `If you need it, ask the user to add "${UNLISTED}" to egress.allow in this bottle's manifest.\n`,
    );
    const forward = await plane.curl([`http://${UNLISTED}/unlisted-forward`]);
    expect(forward.status).toBe(403);
    expect(forward.body).toContain(`ask the user to add "${UNLISTED}" to egress.allow`);
    expect(forward.body).not.toContain("request_egress_host");
    expect(await plane.seen("/unlisted")).toEqual([]);
  });

  // A raw address is refused in warn mode too: warn relaxes DLP, never the allowlist.
  it("refuses the upstream's own IP address and points at egress.allow_ips", async () => {
    const ip = plane.upstreamIp;
    const tunnel = await requestInTunnel(
      plane,
      `${ip}:443`,
      httpRequest("GET", "/ip-literal-tunnel", { Host: ip }),
    );
    expect(tunnel.connect?.status).toBe(200);
    expect(tunnel.responses[0]?.status).toBe(403);
    expect(tunnel.responses[0]?.body).toContain(`to egress.allow_ips`);
    expect(await plane.seen("/ip-literal-tunnel")).toEqual([]);
    const forward = await plane.curl([`http://${ip}/ip-literal`]);
    expect(forward.status).toBe(403);
    expect(await plane.seen("/ip-literal")).toEqual([]);
  });

  // Domain fronting is refused whatever the DLP action.
  it("refuses an SNI or Host header that disagrees with the CONNECT host", async () => {
    const { sni, host } = await frontedTunnels(plane);
    expect(sni.responses[0]?.status).toBe(403);
    expect(host.responses[0]?.status).toBe(403);
    expect(await plane.seen("/fronting")).toEqual([]);
  });

  // Under warn a secret goes out, but a person can see what left, where, and by which rule.
  it("passes a secret in body, header, query and path, and logs rule and place only", async () => {
    const places = secretPlaces("warn");
    for (const place of places) {
      for (const secret of SECRETS) {
        const since = new Date();
        const r = await plane.curl(place.args(secret.value));
        expect(r.status, `${secret.rule} in ${place.location}`).toBe(200);
        expect(await plane.auditSince(since, 2)).toContainEqual(
          expect.objectContaining({
            host: ALLOWED,
            decision: "dlp_warn",
            rule: secret.rule,
            location: place.location,
            status: 200,
          }),
        );
      }
    }
    // Every request reached the upstream, the secret with it.
    expect(await plane.seen("/warn/")).toHaveLength(places.length * SECRETS.length);
    const logs = await plane.pipelockLogs();
    for (const form of secretForms()) expect(logs).not.toContain(form);
  });

  // Encoded forms are recognised under warn as well, so the log tells the whole story.
  it("logs the known secret base64- and hex-encoded, gzip'd, and split across chunks", async () => {
    const since = new Date();
    const base64 = await plane.curl([
      "--data-binary",
      `blob=${Buffer.from(KNOWN_SECRET).toString("base64")}`,
      `https://${ALLOWED}/warn-enc/base64`,
    ]);
    expect(base64.status).toBe(200);
    const hex = await plane.curl([
      `https://${ALLOWED}/warn-enc/hex/${Buffer.from(KNOWN_SECRET).toString("hex")}`,
    ]);
    expect(hex.status).toBe(200);
    const r = await gzipThenChunked(plane, {
      host: ALLOWED,
      gzip: { path: "/warn-enc/gzip", contentType: "text/plain", body: `secret=${KNOWN_SECRET}` },
      chunked: {
        path: "/warn-enc/chunked",
        pieces: [KNOWN_SECRET.slice(0, 9), KNOWN_SECRET.slice(9, 20), KNOWN_SECRET.slice(20)],
        delayMs: 200,
      },
    });
    expect(r.responses.map((x) => x.status)).toEqual([200, 200]);
    // Three tunnels, four requests.
    const audit = await plane.auditSince(since, 7);
    const warned = audit.filter((l) => l.decision === "dlp_warn");
    // Once the hex path has carried every character, each later request holding a piece also
    // completes the secret over requests (warned, not refused): its audit line leaves the path
    // out, since a piece joined over requests may sit in it.
    expect(warned.map((l) => [l.path, l.rule, l.location])).toEqual([
      ["/warn-enc/base64", "known-secret", "body.form:blob"],
      ["[redacted]", "known-secret", "path"],
      ["[redacted]", "known-secret", "body"],
      ["[redacted]", "known-secret", "body"],
    ]);
    const chunked = await plane.seen("/warn-enc/chunked");
    expect(chunked.map((q) => q.bodyLength)).toEqual([KNOWN_SECRET.length]);
  });
});
