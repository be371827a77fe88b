import { describe, expect, it } from "vitest";
import { parseAllowHost, parseAllowIp, parseRouteHost } from "./host-pattern.js";

describe("parseAllowHost", () => {
  it.each([
    ["api.example.test", "host", "api.example.test", null],
    ["API.Example.TEST", "host", "api.example.test", null],
    ["api.example.test:8443", "host", "api.example.test", 8443],
    ["localhost", "host", "localhost", null],
    ["*.example.test", "wildcard", "example.test", null],
    ["*.example.test:443", "wildcard", "example.test", 443],
  ])("accepts %s", (text, kind, host, port) => {
    expect(parseAllowHost(text)).toEqual({
      ok: true,
      value: { kind, pattern: text.toLowerCase(), host, port },
    });
  });

  it.each([
    [
      "*",
      '"*" would allow every host; list the hosts the agent needs, e.g. api.example.test or *.example.test',
    ],
    [
      "*:443",
      '"*" would allow every host; list the hosts the agent needs, e.g. api.example.test or *.example.test',
    ],
    [
      "*.com",
      '"*.com" is too broad: a wildcard needs at least two labels after "*.", e.g. *.example.com',
    ],
    [
      "*.*.example.test",
      '"*.*.example.test": "*" may only stand for the whole first label, as in *.example.com',
    ],
    [
      "api*.example.test",
      '"api*.example.test": "*" may only stand for the whole first label, as in *.example.com',
    ],
    ["*.-bad.test", '"*.-bad.test": "-bad.test" is not a valid domain name'],
    [
      "[2001:db8::1]:443",
      '"[2001:db8::1]:443" is an IP address; list IP addresses under egress.allow_ips so that each one is allowed on purpose',
    ],
    [
      "2001:db8::1",
      '"2001:db8::1" is an IP address; list IP addresses under egress.allow_ips so that each one is allowed on purpose',
    ],
    [
      "api.example.test:0",
      '"api.example.test:0" has a bad port; a port is a number from 1 to 65535, as in api.example.test:8443',
    ],
    [
      "api.example.test:https",
      '"api.example.test:https" has a bad port; a port is a number from 1 to 65535, as in api.example.test:8443',
    ],
    [
      "api.example.test/v1",
      '"api.example.test/v1" has a path; write the host only: api.example.test',
    ],
    [
      "api.example.test.",
      '"api.example.test." is not a valid hostname, e.g. api.example.test or *.example.test',
    ],
    ["two words", '"two words" contains a space; write one host per entry'],
    ["", "must not be empty"],
  ])("rejects %j", (text, message) => {
    expect(parseAllowHost(text)).toEqual({ ok: false, message });
  });
});

describe("parseAllowIp", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7", "203.0.113.7", null],
    ["203.0.113.7:443", "203.0.113.7:443", "203.0.113.7", 443],
    ["2001:DB8::1", "2001:db8::1", "2001:db8::1", null],
    ["[2001:db8::1]:443", "[2001:db8::1]:443", "2001:db8::1", 443],
  ])("accepts %s", (text, pattern, host, port) => {
    expect(parseAllowIp(text)).toEqual({ ok: true, value: { kind: "ip", pattern, host, port } });
  });

  it.each([
    ["0.0.0.0", '"0.0.0.0" is the unspecified address; give the address of the server'],
    ["::", '"::" is the unspecified address; give the address of the server'],
    ["203.0.113.0/24", '"203.0.113.0/24" has a path; write the host only: 203.0.113.0'],
  ])("rejects %s", (text, message) => {
    expect(parseAllowIp(text)).toEqual({ ok: false, message });
  });
});

describe("parseRouteHost", () => {
  it("takes one hostname", () => {
    expect(parseRouteHost("API.example.test")).toEqual({ ok: true, value: "api.example.test" });
  });

  it("refuses a port", () => {
    expect(parseRouteHost("api.example.test:8443")).toEqual({
      ok: false,
      message:
        '"api.example.test:8443": a route names one hostname, without wildcard or port, e.g. api.example.test',
    });
  });
});
