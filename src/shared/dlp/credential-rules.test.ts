import { describe, expect, it } from "vitest";
import {
  FAKE_CREDENTIALS,
  FAKE_OPENAI_LEGACY,
  filler,
} from "../../../test/support/fixtures/fake-credentials.js";
import { CREDENTIAL_RULES } from "./credential-rules.js";
import { createDlpScanner } from "./scanner.js";

const scanner = createDlpScanner();
const bodyOf = (text: string) => ({
  body: { bytes: Buffer.from(text), contentType: "text/plain" },
});

describe("credential rules", () => {
  it("has a fake credential for every rule", () => {
    expect(Object.keys(FAKE_CREDENTIALS).sort()).toEqual(CREDENTIAL_RULES.map((r) => r.id).sort());
  });

  for (const [ruleId, { hit, miss }] of Object.entries(FAKE_CREDENTIALS)) {
    it(`${ruleId}: finds a hit, ignores the near miss, never returns the value`, () => {
      const verdict = scanner.scan(bodyOf(`prefix ${hit} suffix`));
      expect(verdict.status).toBe("findings");
      if (verdict.status !== "findings") return;
      expect(verdict.findings.map((f) => f.ruleId)).toContain(ruleId);
      expect(verdict.findings.every((f) => f.location === "body")).toBe(true);
      const serialized = JSON.stringify(verdict);
      expect(serialized).not.toContain(hit.slice(-12));
      expect(scanner.scan(bodyOf(`prefix ${miss} suffix`))).toEqual({ status: "clean" });
    });
  }

  it("finds the legacy OpenAI key shape by its marker", () => {
    const verdict = scanner.scan(bodyOf(`key=${FAKE_OPENAI_LEGACY}`));
    expect(verdict).toMatchObject({ status: "findings", findings: [{ ruleId: "openai-api-key" }] });
  });

  it("catches AWS key ids as broadly as gitleaks: its prefixes, digits 0-9 included", () => {
    for (const prefix of ["AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "A3TX"]) {
      const verdict = scanner.scan(bodyOf(`aws_access_key_id=${prefix}Q3ZT5Y7U2W4P6N8R`));
      expect(verdict, prefix).toMatchObject({
        status: "findings",
        findings: [{ ruleId: "aws-access-token" }],
      });
    }
  });

  it("ignores the AWS documentation example key", () => {
    expect(scanner.scan(bodyOf(`id ${"AKIA"}IOSFODNN7EXAMPLE`))).toEqual({ status: "clean" });
  });

  it("shows a fixed prefix and a length at most", () => {
    const verdict = scanner.scan(bodyOf(FAKE_CREDENTIALS["aws-access-token"]?.hit ?? ""));
    expect(verdict).toEqual({
      status: "findings",
      findings: [
        {
          ruleId: "aws-access-token",
          description: "an AWS access key id",
          location: "body",
          preview: "AKIA…(20 chars)",
        },
      ],
    });
  });

  // A rule that backtracks catastrophically on a body of its own anchors never finishes on
  // 256 KiB: the test's timeout catches that. How fast the scan is belongs to the benchmark.
  it("finishes on bodies made of anchors", { timeout: 120_000 }, () => {
    for (const rule of CREDENTIAL_RULES) {
      for (const anchor of rule.anchors) {
        for (const glue of ["", "-", "a", "1-", "_"]) {
          const unit = `${anchor}${glue}`;
          const text = unit.repeat(Math.ceil((256 * 1024) / unit.length));
          expect(scanner.scan(bodyOf(text)).status, `${rule.id} ${JSON.stringify(unit)}`).not.toBe(
            "unscannable",
          );
        }
      }
    }
  });

  it("finds many tokens in one body but reports a bounded number", () => {
    const tokens = Array.from({ length: 40 }, (_, i) => `gh${"p_"}${filler(36, undefined, i + 1)}`);
    const verdict = scanner.scan(bodyOf(tokens.join("\n")));
    expect(verdict.status === "findings" && verdict.findings.length).toBe(1);
  });
});
