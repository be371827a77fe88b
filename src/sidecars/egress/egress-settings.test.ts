import { describe, expect, it } from "vitest";
import { parseHostPort, readEgressSettings } from "./egress-settings.js";

const base = {
  EGRESS_UPSTREAM_PROXY: "http://claude-bottle-pipelock-dev:8888",
  EGRESS_UPSTREAM_CA: "/etc/egress/pipelock-ca.pem",
};

describe("readEgressSettings", () => {
  it("defaults to the container's paths and port", () => {
    expect(readEgressSettings(base)).toEqual({
      listen: { host: "0.0.0.0", port: 8080 },
      routesFile: "/etc/egress/routes.yaml",
      caCertFile: "/etc/egress/ca.pem",
      caKeyFile: "/etc/egress/ca-key.pem",
      upstreamProxy: { host: "claude-bottle-pipelock-dev", port: 8888 },
      upstreamCaFile: "/etc/egress/pipelock-ca.pem",
    });
  });

  it("takes the test overrides", () => {
    const settings = readEgressSettings({
      ...base,
      EGRESS_LISTEN: "127.0.0.1:0",
      EGRESS_ROUTES_FILE: "/t/r.yaml",
      EGRESS_CA_FILE: "/t/ca.pem",
      EGRESS_CA_KEY_FILE: "/t/key.pem",
    });
    expect(settings).toMatchObject({
      listen: { host: "127.0.0.1", port: 0 },
      routesFile: "/t/r.yaml",
      caCertFile: "/t/ca.pem",
      caKeyFile: "/t/key.pem",
    });
  });

  it.each([
    [
      { EGRESS_UPSTREAM_CA: "/x" },
      "EGRESS_UPSTREAM_PROXY is unset: egress needs pipelock's address",
    ],
    [
      { EGRESS_UPSTREAM_PROXY: "http://p:1" },
      "EGRESS_UPSTREAM_CA is unset: egress needs the path of pipelock's CA certificate",
    ],
    [
      { ...base, EGRESS_UPSTREAM_PROXY: "https://p:1" },
      "EGRESS_UPSTREAM_PROXY=https://p:1 is not an http://host:port URL",
    ],
    [
      { ...base, EGRESS_UPSTREAM_PROXY: "p:1" },
      "EGRESS_UPSTREAM_PROXY=p:1 is not an http://host:port URL",
    ],
    [{ ...base, EGRESS_LISTEN: "8080" }, "EGRESS_LISTEN=8080 is not host:port"],
  ])("refuses %j", (env, message) => {
    expect(() => readEgressSettings(env)).toThrow(message);
  });
});

describe("parseHostPort", () => {
  it.each([
    ["127.0.0.1:8080", { host: "127.0.0.1", port: 8080 }],
    [":9", { host: "0.0.0.0", port: 9 }],
    ["[::1]:80", { host: "::1", port: 80 }],
    ["[nope]:80", undefined],
    ["h:70000", undefined],
    ["h", undefined],
  ])("%j → %j", (text, expected) => {
    expect(parseHostPort(text)).toEqual(expected);
  });
});
