import { describe, expect, it } from "vitest";
import {
  normalizeEgressHost,
  validateEgressHost,
  validateFingerprint,
  validatePort,
} from "./request-validation.js";

describe("normalizeEgressHost", () => {
  it.each([
    ["API.Example.COM", "api.example.com"],
    ["example.com.", "example.com"],
    [" 203.0.113.7 ", "203.0.113.7"],
    ["[2001:DB8::1]", "2001:db8::1"],
    ["2001:db8:0:0::1", "2001:db8::1"],
  ])("%s → %s", (raw, want) => {
    expect(normalizeEgressHost(raw)).toEqual({ ok: true, value: want });
  });

  it.each([
    ["*.example.com", "ask for one exact host; wildcards belong in the bottle's manifest"],
    ["https://example.com/x", "give the host name alone, not a URL"],
    ["example.com:8443", "give the port in the port argument"],
    ["exa mple.com", "is not a host name or an IP address"],
    ["127.1", "looks like an address; give it in dotted form"],
    ["", "host must not be empty"],
  ])("refuses %j", (raw, message) => {
    const result = normalizeEgressHost(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });

  it("accepts only normal forms as stored", () => {
    expect(validateEgressHost("api.example.com")).toBeNull();
    expect(validateEgressHost("API.example.com")).toBe('"API.example.com" is not in normal form');
  });
});

describe("validateFingerprint", () => {
  const good = "0123456789abcdef0123456789abcdef01234567:config/app.env:generic-api-key:12";

  it("accepts gitleaks' commit:file:rule:line", () => {
    expect(validateFingerprint(good)).toBeNull();
    expect(validateFingerprint("abc1234:dir with space/f.txt:aws-access-token:3")).toBeNull();
  });

  it("refuses a second line smuggled in", () => {
    expect(validateFingerprint(`${good}\n${good}`)).toBe(
      "fingerprint must be one line without control characters",
    );
  });

  it("refuses what is not a fingerprint", () => {
    expect(validateFingerprint("# all")).toContain("is not a gitleaks fingerprint");
    expect(validateFingerprint("config/app.env:generic-api-key:12")).toContain(
      "is not a gitleaks fingerprint",
    );
  });
});

describe("validatePort", () => {
  it("takes none as the web ports and refuses out of range", () => {
    expect(validatePort(undefined)).toEqual({ ok: true, value: null });
    expect(validatePort(8443)).toEqual({ ok: true, value: 8443 });
    expect(validatePort(70000)).toEqual({
      ok: false,
      message: "port 70000 is not between 1 and 65535",
    });
  });
});
