import { describe, expect, it } from "vitest";
import { DEFAULT_WILDCARD_LABELS as MANIFEST_DEFAULT } from "../../manifest/resolved-bottle.js";
import { DEFAULT_WILDCARD_LABELS, parsePipelockConfig } from "./config.js";
import { buildPolicy } from "./policy.js";

describe("parsePipelockConfig", () => {
  it("fills defaults", () => {
    expect(parsePipelockConfig("allow: [api.github.com]", "p.yaml")).toEqual({
      allow: ["api.github.com"],
      dlp: { action: "block", secretEnv: [] },
      maxBodyBytes: 10 * 1024 * 1024,
      privateUpstreams: "deny",
      readOnly: [],
      supervise: { enabled: false },
      wildcardLabels: { maxLength: 40, randomMinLength: 16 },
      wildcardNames: 32,
      rateLimit: { perSecond: 20, burst: 1000, hosts: [] },
    });
  });

  it("has the manifest's default wildcard label bound", () => {
    expect(DEFAULT_WILDCARD_LABELS).toEqual(MANIFEST_DEFAULT);
  });

  it("reads the wildcard label bound, and refuses one no label could meet", () => {
    const parsed = parsePipelockConfig("wildcardLabels: { maxLength: 20 }", "p.yaml");
    expect(parsed.wildcardLabels).toEqual({ maxLength: 20, randomMinLength: 16 });
    expect(() => parsePipelockConfig("wildcardLabels: { maxLength: 64 }", "p.yaml")).toThrow(
      /maxLength/,
    );
    expect(() => parsePipelockConfig("wildcardLabels: { randomMinLength: 0 }", "p.yaml")).toThrow(
      /randomMinLength/,
    );
  });

  it("accepts what the bottle renderer writes, plus secret grants", () => {
    const text = [
      "allow: [api.github.com, '*.githubusercontent.com', '203.0.113.7:8443']",
      "dlp:",
      "  action: warn",
      "  secretEnv:",
      "    - PIPELOCK_SECRET_0",
      "    - { env: PIPELOCK_SECRET_1, hosts: [api.anthropic.com] }",
      "supervise: { enabled: true }",
      "auditLog: /var/log/pipelock.jsonl",
      "maxBodyBytes: 1024",
    ].join("\n");
    expect(parsePipelockConfig(text, "p.yaml")).toMatchObject({
      dlp: {
        action: "warn",
        secretEnv: [
          "PIPELOCK_SECRET_0",
          { env: "PIPELOCK_SECRET_1", hosts: ["api.anthropic.com"] },
        ],
      },
      auditLog: "/var/log/pipelock.jsonl",
    });
  });

  it("reports problems with file, line and column", () => {
    expect(() =>
      parsePipelockConfig("allow:\n  - '*'\ndlp: { action: drop }\nextra: 1", "p.yaml"),
    ).toThrow(
      [
        'p.yaml:2:5: allow[0]: "*" would allow every host; list hosts one by one',
        'p.yaml:3:8: dlp.action: must be "block" or "warn"',
        'p.yaml:4:1: extra: unknown key "extra"',
      ].join("\n"),
    );
  });
});

describe("buildPolicy", () => {
  it("reads secret values from the environment by name and says what is missing", () => {
    const config = parsePipelockConfig(
      "dlp: { secretEnv: [A, B, { env: C, hosts: [api.test] }] }",
      "p.yaml",
    );
    const policy = buildPolicy(config, {
      A: "long-enough-value",
      B: "short",
      C: "another-long-value",
    });
    expect(policy.warnings).toEqual([
      "secret env B is shorter than 8 characters; DLP ignores its value",
    ]);
    expect(buildPolicy(config, {}).warnings).toHaveLength(3);
    expect([...policy.secretsAllowedTo({ host: "api.test", kind: "name" }, 443)]).toEqual(["C"]);
    expect([...policy.secretsAllowedTo({ host: "other.test", kind: "name" }, 443)]).toEqual([]);
  });
});
