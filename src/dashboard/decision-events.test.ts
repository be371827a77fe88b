import { describe, expect, it } from "vitest";
import { parseEgressLine, parseGitGateLine, parsePipelockLine } from "./decision-events.js";

/** A sidecar's JSON log line: the fields every line of it has, with a test's own laid over. */
const logLine =
  (common: Record<string, unknown>) =>
  (fields: Record<string, unknown>): string =>
    JSON.stringify({ ...common, ...fields });

describe("parsePipelockLine", () => {
  it("reads a refusal with its rule and place", () => {
    const line = JSON.stringify({
      ts: "2030-01-01T00:00:00.000Z",
      client: "10.0.0.2:5000",
      method: "POST",
      host: "api.example.test",
      port: 443,
      path: "[redacted]",
      decision: "dlp_block",
      rule: "aws-access-key",
      location: "body",
      status: 403,
      detail: "free text the dashboard does not show",
    });
    expect(parsePipelockLine(line, "demo-1234")).toEqual({
      slug: "demo-1234",
      source: "pipelock",
      at: "2030-01-01T00:00:00.000Z",
      kind: "dlp",
      verdict: "dlp_block",
      method: "POST",
      host: "api.example.test",
      port: 443,
      path: "[redacted]",
      rule: "aws-access-key",
      place: "body",
      status: 403,
      routed: false,
      requestBytes: null,
      responseBytes: null,
    });
  });

  it.each([
    ["allowed", "allow"],
    ["denied", "refuse"],
    ["dlp_warn", "dlp"],
    ["error", "error"],
  ])("maps %s to %s", (decision, kind) => {
    expect(parsePipelockLine(JSON.stringify({ decision, host: "h" }), "s")?.kind).toBe(kind);
  });

  it("fills the place of a line without a location with the stage that decided", () => {
    const at = (fields: Record<string, unknown>) =>
      parsePipelockLine(JSON.stringify({ decision: "denied", host: "h", ...fields }), "s")?.place;
    expect(at({ method: "CONNECT", location: null })).toBe("tunnel");
    expect(at({ method: "GET", location: null })).toBe("request");
    expect(at({ method: "GET", location: "sni" })).toBe("sni");
  });

  it("passes over what is not an audit line", () => {
    for (const line of [
      "pipelock: listening on 0.0.0.0:8888",
      "{not json",
      "[1,2]",
      JSON.stringify({ decision: "maybe" }),
      JSON.stringify({ event: "request" }),
      "",
    ]) {
      expect(parsePipelockLine(line, "s")).toBeNull();
    }
  });
});

describe("parseEgressLine", () => {
  const line = logLine({ time: "2030-01-01T00:00:00.000Z", event: "request", method: "POST" });

  it("reads the bytes an exchange moved, and none from lines written before egress counted", () => {
    const routed = { kind: "intercept", routed: true, host: "api.anthropic.com", status: 200 };
    expect(
      parseEgressLine(line({ ...routed, requestBytes: 1234, responseBytes: 56789 }), "s"),
    ).toMatchObject({ requestBytes: 1234, responseBytes: 56789 });
    expect(parseEgressLine(line(routed), "s")).toMatchObject({
      requestBytes: null,
      responseBytes: null,
    });
    expect(
      parseEgressLine(line({ ...routed, requestBytes: -1, responseBytes: "12" }), "s"),
    ).toMatchObject({ requestBytes: null, responseBytes: null });
  });

  it("keeps routed calls and refusals, not tunnels, forwards or health checks", () => {
    expect(
      parseEgressLine(
        line({ kind: "intercept", routed: true, host: "api.anthropic.com", status: 200 }),
        "s",
      ),
    ).toMatchObject({
      source: "egress",
      kind: "allow",
      rule: "route",
      place: "route",
      routed: true,
      host: "api.anthropic.com",
    });
    expect(
      parseEgressLine(
        line({ kind: "refused", routed: false, host: null, status: 502, error: "bad-request" }),
        "s",
      ),
    ).toMatchObject({
      kind: "refuse",
      rule: "bad-request",
      place: "egress proxy",
      routed: false,
      host: null,
    });
    for (const kind of ["tunnel", "forward", "local"]) {
      expect(
        parseEgressLine(line({ kind, routed: false, host: null, status: 200 }), "s"),
      ).toBeNull();
    }
  });
});

describe("parseGitGateLine", () => {
  const line = logLine({ event: "git-gate-verdict", ts: "2030-01-01T00:00:00Z", upstream: "app" });

  it("reads a push's verdict, its rule and how many findings", () => {
    expect(
      parseGitGateLine(line({ verdict: "rejected", rule: "gitleaks", findings: 2 }), "s"),
    ).toEqual({
      slug: "s",
      source: "git-gate",
      at: "2030-01-01T00:00:00Z",
      kind: "dlp",
      verdict: "rejected",
      method: "push",
      host: "app",
      port: null,
      path: null,
      rule: "gitleaks",
      place: "2 findings",
      status: null,
      routed: false,
      requestBytes: null,
      responseBytes: null,
    });
    expect(
      parseGitGateLine(line({ verdict: "forwarded", rule: "clean", findings: 0 }), "s"),
    ).toMatchObject({
      kind: "allow",
      place: "push",
    });
    expect(
      parseGitGateLine(line({ verdict: "rejected", rule: "octopus-merge", findings: 0 }), "s")
        ?.kind,
    ).toBe("refuse");
  });

  it("passes over the gate's other lines", () => {
    expect(
      parseGitGateLine("git-gate: serving 1 upstream(s) on 0.0.0.0 port 9418", "s"),
    ).toBeNull();
    expect(parseGitGateLine(line({ verdict: "maybe" }), "s")).toBeNull();
    expect(parseGitGateLine(JSON.stringify({ decision: "denied" }), "s")).toBeNull();
  });
});
