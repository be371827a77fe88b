import { describe, expect, it } from "vitest";
import { base32 } from "../../shared/dlp/host-forms.js";
import { type AdmissionRequest, admit } from "./admission.js";
import { normalizeHost } from "./allowlist.js";
import { type PipelockConfigInput, PipelockConfigSchema } from "./config.js";
import { buildPolicy } from "./policy.js";

const SECRET = "Zq7+Secret/Value_Kp9=Wm";
const B32 = base32(Buffer.from(SECRET));

function policyOf(config: Partial<PipelockConfigInput> = {}) {
  return buildPolicy(
    PipelockConfigSchema.parse({
      allow: ["api.test", "*.wild.test", "10.0.0.7"],
      dlp: { action: "block", secretEnv: ["AGENT_SECRET"] },
      ...config,
    }),
    { AGENT_SECRET: SECRET },
  );
}

function asking(host: string, port = 443, method = "CONNECT"): AdmissionRequest {
  const normalized = normalizeHost(host);
  if (normalized === undefined) throw new Error(`not a host: ${host}`);
  return {
    target: { host: normalized, port, spellings: [{ where: "connect", text: host }] },
    client: "172.20.0.5:40000",
    method,
    auditPath: () => (method === "CONNECT" ? null : "/p"),
  };
}

describe("admit", () => {
  it("admits an allowlisted host, with the line a CONNECT logs", () => {
    expect(admit(policyOf(), asking("api.test"))).toEqual({
      admitted: true,
      shownHost: "api.test",
      hostFindings: [],
      auditEvent: {
        client: "172.20.0.5:40000",
        method: "CONNECT",
        host: "api.test",
        port: 443,
        path: null,
        decision: "allowed",
        rule: null,
        location: null,
        status: 200,
      },
    });
  });

  it("refuses an unlisted host with its explanation, to be told inside the tunnel", () => {
    const admission = admit(policyOf(), asking("unlisted.test", 443, "GET"));
    expect(admission).toMatchObject({
      admitted: false,
      status: 403,
      shownHost: "unlisted.test",
      answerInTunnel: true,
      auditEvent: {
        method: "GET",
        host: "unlisted.test",
        port: 443,
        path: "/p",
        decision: "denied",
        rule: "not-allowlisted",
        location: null,
        status: 403,
      },
    });
    if (admission.admitted) return;
    expect(admission.refusal.text).toContain(
      `"unlisted.test:443" is not on this bottle's egress allowlist.\nIf you need it, ask the user to add "unlisted.test" to egress.allow`,
    );
  });

  it("names the supervise tool when supervision is on", () => {
    const admission = admit(policyOf({ supervise: { enabled: true } }), asking("unlisted.test"));
    expect(admission.admitted).toBe(false);
    if (admission.admitted) return;
    expect(admission.refusal.text).toContain(
      'call the MCP tool `request_egress_host` of the `supervise` server with host "unlisted.test"',
    );
  });

  it("refuses another port of an allowlisted host", () => {
    expect(admit(policyOf(), asking("api.test", 8443))).toMatchObject({
      admitted: false,
      answerInTunnel: true,
      auditEvent: { rule: "not-allowlisted", port: 8443 },
    });
  });

  it("tells an unlisted address inside a tunnel, but not an address spelled as a name", () => {
    for (const host of ["10.0.0.8", "[::1]", "[::ffff:10.0.0.7]"]) {
      expect(admit(policyOf(), asking(host)), host).toMatchObject({
        admitted: false,
        answerInTunnel: true,
        auditEvent: { rule: "ip-literal" },
      });
    }
    for (const host of ["127.1", "2130706433", "0x7f.1"]) {
      expect(admit(policyOf(), asking(host)), host).toMatchObject({
        admitted: false,
        answerInTunnel: false,
        auditEvent: { rule: "ip-literal" },
      });
    }
    expect(admit(policyOf(), asking("10.0.0.7")).admitted).toBe(true);
  });

  it("keeps a name carrying a secret out of certificates and logs, listed or not", () => {
    for (const host of [`${B32}.elsewhere.test`, `${B32}.wild.test`]) {
      const admission = admit(policyOf(), asking(host));
      expect(admission, host).toMatchObject({
        admitted: false,
        shownHost: "[redacted]",
        answerInTunnel: false,
        auditEvent: { host: "[redacted]" },
      });
      expect(JSON.stringify(admission).toLowerCase()).not.toContain(B32);
    }
    expect(admit(policyOf(), asking(`${B32}.wild.test`)).auditEvent).toMatchObject({
      decision: "dlp_block",
      rule: "known-secret",
    });
  });

  it("admits a name carrying a secret under dlp.action warn, with the finding logged", () => {
    // Labels bounds wide enough for the base32 label: only the known secret is judged.
    const policy = policyOf({
      dlp: { action: "warn", secretEnv: ["AGENT_SECRET"] },
      wildcardLabels: { maxLength: 63, randomMinLength: 63 },
    });
    const admission = admit(policy, asking(`${B32}.wild.test`));
    expect(admission).toMatchObject({
      admitted: true,
      shownHost: "[redacted]",
      auditEvent: { decision: "dlp_warn", rule: "known-secret", host: "[redacted]" },
    });
  });

  it("refuses telling labels under a wildcard on the CONNECT itself", () => {
    expect(admit(policyOf(), asking("q3x7kd2mzr8vw4jf6tnb.wild.test"))).toMatchObject({
      admitted: false,
      answerInTunnel: false,
      auditEvent: { decision: "denied", rule: "wildcard-label-random", location: "host" },
    });
    expect(admit(policyOf(), asking(`${"objects".repeat(6)}.wild.test`))).toMatchObject({
      admitted: false,
      answerInTunnel: false,
      auditEvent: { rule: "wildcard-label-length" },
    });
    expect(admit(policyOf(), asking("us-east-1.my-bucket.wild.test")).admitted).toBe(true);
  });

  it("looks at the path only for a refusal", () => {
    let read = 0;
    const request = {
      ...asking("api.test", 443, "GET"),
      auditPath: () => {
        read += 1;
        return "/p";
      },
    };
    admit(policyOf(), request);
    expect(read).toBe(0);
    admit(policyOf(), { ...request, target: asking("unlisted.test").target });
    expect(read).toBe(1);
  });
});
