import { describe, expect, it } from "vitest";
import { compileAllowlist, normalizeHost, parseAllowPattern } from "./allowlist.js";

function allows(patterns: string[], host: string, port: number): string | undefined {
  const target = normalizeHost(host);
  if (target === undefined) throw new Error(`bad host ${host}`);
  return compileAllowlist(patterns).match(target, port)?.pattern;
}

describe("normalizeHost", () => {
  it("lowercases, drops a trailing dot and brackets, and canonicalises IPv6", () => {
    expect(normalizeHost("API.Example.COM.")).toEqual({ host: "api.example.com", kind: "name" });
    expect(normalizeHost("[2001:DB8:0:0::1]")).toEqual({ host: "2001:db8::1", kind: "ip" });
    expect(normalizeHost("10.0.0.1")).toEqual({ host: "10.0.0.1", kind: "ip" });
  });

  it("treats names a resolver reads as addresses as addresses", () => {
    for (const host of ["127.1", "2130706433", "0x7f.1", "10.0.0.010"]) {
      expect(normalizeHost(host)?.kind, host).toBe("ip");
    }
  });

  it("rejects what is not a host", () => {
    for (const host of [
      "",
      "a b",
      "exa mple.com",
      "[example.com]",
      "a..b",
      "-a.com",
      "é.com",
      "[fe80::1%eth0]",
      "fe80::1%25eth0",
      "[::1",
      "%61.example.com",
      "a@example.com",
    ]) {
      expect(normalizeHost(host), host).toBeUndefined();
    }
  });
});

describe("allowlist matching", () => {
  it("matches exact hosts on 443 and 80 unless a port is given", () => {
    expect(allows(["api.github.com"], "api.github.com", 443)).toBe("api.github.com");
    expect(allows(["api.github.com"], "api.github.com", 80)).toBe("api.github.com");
    expect(allows(["api.github.com"], "api.github.com", 8443)).toBeUndefined();
    expect(allows(["api.github.com:8443"], "api.github.com", 8443)).toBe("api.github.com:8443");
    expect(allows(["api.github.com:8443"], "api.github.com", 443)).toBeUndefined();
    expect(allows(["api.github.com"], "github.com", 443)).toBeUndefined();
  });

  it("matches subdomains, never the domain itself, for *.domain", () => {
    expect(allows(["*.example.com"], "a.example.com", 443)).toBe("*.example.com");
    expect(allows(["*.example.com"], "a.b.example.com", 443)).toBe("*.example.com");
    expect(allows(["*.example.com"], "example.com", 443)).toBeUndefined();
    expect(allows(["*.example.com"], "badexample.com", 443)).toBeUndefined();
  });

  it("opens IP addresses only when listed as such", () => {
    expect(allows(["*.example.com", "example.com"], "10.0.0.1", 443)).toBeUndefined();
    expect(allows(["10.0.0.1"], "10.0.0.1", 443)).toBe("10.0.0.1");
    expect(allows(["[2001:db8::1]:8443"], "2001:DB8::0:1", 8443)).toBe("[2001:db8::1]:8443");
    expect(allows(["2001:db8::1"], "[2001:db8::1]", 80)).toBe("2001:db8::1");
  });
});

describe("parseAllowPattern", () => {
  it("explains what it rejects", () => {
    expect(parseAllowPattern("*")).toEqual({
      ok: false,
      message: '"*" would allow every host; list hosts one by one',
    });
    expect(parseAllowPattern("*.10.0.0.1")).toMatchObject({ ok: false });
    expect(parseAllowPattern("a.com:70000")).toEqual({
      ok: false,
      message: '"a.com:70000": bad port',
    });
    expect(parseAllowPattern("https://a.com")).toMatchObject({ ok: false });
  });
});
