import { describe, expect, it } from "vitest";
import { knownSecretKind, literalSecretKind, looksRandom, redactSecrets } from "./secret-shape.js";

describe("knownSecretKind", () => {
  it.each([
    ["AKIAIOSFODNN7EXAMPLE", "an AWS access key"],
    ["ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5", "a GitHub token"],
    ["github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "a GitHub token"],
    ["sk-ant-api03-aB3dE5fG7hJ9kL1mN3pQ5rS7tU9v", "an Anthropic API key"],
    ["xoxb-1234567890-abcdefghij", "a Slack token"],
    ["-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...", "a private key"],
    ["-----BEGIN RSA PRIVATE KEY-----", "a private key"],
  ])("recognises %j", (value, kind) => {
    expect(knownSecretKind(value)).toBe(kind);
  });

  it.each(["https://api.example.test/v1", "UTC", "task-management-system-v2", "GITHUB_TOKEN"])(
    "leaves %j alone",
    (value) => {
      expect(knownSecretKind(value)).toBeUndefined();
    },
  );
});

describe("literalSecretKind", () => {
  const random = "Zq8vR2xL9mW4tY7kP3nB6hJ1";

  it("flags a random-looking value only under a name that says secret", () => {
    expect(looksRandom(random)).toBe(true);
    expect(literalSecretKind("DB_PASSWORD", random)).toBe("a secret");
    expect(literalSecretKind("BUILD_ID", random)).toBeUndefined();
  });

  it("flags a known credential under any name", () => {
    expect(literalSecretKind("NOTES", "AKIAIOSFODNN7EXAMPLE")).toBe("an AWS access key");
  });

  it.each([
    "/home/someone/projects/api-service",
    "https://api.example.test/v1/items",
    "not a secret at all, just words",
    "2024-01-01T00:00:00Z",
  ])("does not flag %j under a secret-sounding name", (value) => {
    expect(literalSecretKind("API_KEY_HINT", value)).toBeUndefined();
  });
});

describe("redactSecrets", () => {
  it("replaces every known credential in a text", () => {
    expect(
      redactSecrets(
        '"AKIAIOSFODNN7EXAMPLE" and "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5" are bad',
      ),
    ).toBe('"[secret]" and "[secret]" are bad');
  });
});
