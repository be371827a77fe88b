import { describe, expect, it } from "vitest";
import { auditLine, requestWords } from "./audit-lines.js";

describe("auditLine", () => {
  it("says what the agent asked for and why", () => {
    expect(
      auditLine({
        event: "proposed",
        id: "p-1",
        request: { kind: "egress-host", host: "docs.test", port: null },
        reason: "read the docs",
      }),
    ).toBe("the agent asked for egress to docs.test (ports 443 and 80): “read the docs” [p-1]");
  });

  it("says who decided, the note and what changed", () => {
    expect(
      auditLine({
        event: "decided",
        id: "p-1",
        request: { kind: "egress-host", host: "docs.test", port: 8443 },
        decision: "approved",
        by: "dashboard (a@b)",
        reason: "docs only",
        changes: ["added docs.test:8443 to pipelock's allowlist"],
      }),
    ).toBe(
      "dashboard (a@b) approved egress to docs.test (port 8443) — “docs only”; added docs.test:8443 to pipelock's allowlist [p-1]",
    );
    expect(
      auditLine({
        event: "decided",
        request: { kind: "gitleaks-exception", fingerprint: "f:1" },
        decision: "denied",
        by: "alice",
      }),
    ).toBe("alice denied a gitleaks exception for f:1");
  });

  it("reads an entry it does not know, or a request it cannot, without failing", () => {
    expect(auditLine({ event: "rotated" })).toBe("rotated");
    expect(requestWords({ kind: "egress-host", host: 7 })).toBe("something unreadable");
    expect(requestWords(null)).toBe("something unreadable");
  });
});
