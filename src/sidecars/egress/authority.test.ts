import { describe, expect, it } from "vitest";
import { hostHeaderProblem, parseAuthority } from "./authority.js";

describe("parseAuthority", () => {
  it.each([
    ["api.test", { host: "api.test" }],
    ["API.Test.", { host: "api.test" }],
    ["api.test:443", { host: "api.test", port: 443 }],
    ["api.test:0443", { host: "api.test", port: 443 }],
    ["[::1]:8080", { host: "::1", port: 8080 }],
    ["[2001:DB8::1]", { host: "2001:db8::1" }],
    ["10.0.0.1:80", { host: "10.0.0.1", port: 80 }],
    ["under_score.test", { host: "under_score.test" }],
  ])("reads %j", (text, expected) => {
    expect(parseAuthority(text)).toEqual(expected);
  });

  it.each([
    "",
    ":443",
    "api.test:",
    "api.test:+443",
    "api.test:44 3",
    "api.test:0",
    "api.test:65536",
    "api.test:443:1",
    "[api.test]",
    "[api.test]:443",
    "[::1",
    "[::1]x",
    "[fe80::1%25eth0]",
    "user@api.test",
    "api.test/",
    "api.test\\",
    "api%2etest",
    "api..test",
    ".api.test",
    "-",
    "api test",
    "ápi.test",
  ])("refuses %j", (text) => {
    expect(parseAuthority(text)).toBeUndefined();
  });
});

describe("hostHeaderProblem", () => {
  const expected = { host: "api.test", port: 443, defaultPort: 443 };
  const check = (...values: string[]) =>
    hostHeaderProblem(
      values.flatMap((v) => ["Host", v]),
      expected,
    );

  it("accepts the site itself, with or without its port", () => {
    expect(check("api.test")).toBeUndefined();
    expect(check("API.TEST:443")).toBeUndefined();
    expect(check(" api.test ")).toBeUndefined();
  });

  it.each([
    [[], "unreadable", "the request has no Host header"],
    [["api.test", "api.test"], "unreadable", "more than one Host header"],
    [["api.test:"], "unreadable", "the Host header is not a host[:port] egress can read"],
    [["[api.test]"], "unreadable", "the Host header is not a host[:port] egress can read"],
    [["other.test"], "other-site", "the Host header names another site than api.test:443"],
    [["api.test:8443"], "other-site", "the Host header names another site than api.test:443"],
  ])("refuses %j as %s", (values, kind, message) => {
    const problem = check(...values);
    expect(problem?.kind).toBe(kind);
    expect(problem?.message).toContain(message);
    // The agent's text is never repeated: it may carry a secret into egress's log.
    for (const value of values) expect(problem?.message).not.toContain(value);
  });
});
