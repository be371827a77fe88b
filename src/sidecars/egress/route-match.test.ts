import { describe, expect, it } from "vitest";
import {
  isAmbiguousPath,
  isRouteHost,
  matchRoute,
  pathHasPrefix,
  pathReadings,
} from "./route-match.js";
import type { ResolvedRoute } from "./routes-config.js";

const route = (
  host: string,
  paths: string[],
  methods: string[] | "all",
  n: number,
): ResolvedRoute => ({
  host,
  paths,
  methods,
  scheme: "Bearer",
  tokenEnv: `T${n}`,
  header: { name: "authorization", value: `Bearer ${n}` },
});

const routes = [
  route("api.test", ["/v1/"], ["GET"], 0),
  route("api.test", ["/v1/", "/admin"], "all", 1),
  route("other.test", ["/"], "all", 2),
];

describe("matchRoute", () => {
  it.each([
    ["api.test", "GET", "/v1/x?y=1", "T0"],
    ["API.test.", "POST", "/v1/x", "T1"],
    ["api.test", "DELETE", "/admin", "T1"],
    ["api.test", "DELETE", "/admin/users", "T1"],
    ["other.test", "PATCH", "/anything", "T2"],
  ])("%s %s %s → %s (first match in file order)", (host, method, path, tokenEnv) => {
    expect(matchRoute(routes, { host, method, path })?.tokenEnv).toBe(tokenEnv);
  });

  it.each([
    ["api.test", "GET", "/v2/x"],
    ["api.test", "GET", "/administrator"],
    ["api.test", "GET", "/v1"],
    ["api.test", "GET", "/V1/x"],
    ["api.test", "GET", "//v1/x"],
    ["api.test", "GET", "/v1/../admin2"],
    ["api.test", "GET", "/v1/%2E%2E/x"],
    ["api.test", "GET", "/v1/x%2Fy"],
    ["api.test", "GET", "/v1/..;/x"],
    ["third.test", "GET", "/v1/x"],
    ["api.test", "GET", "/v1/%252e%252e/admin"],
    ["api.test", "GET", "/v1/%252E%252e/admin"],
    ["api.test", "GET", "/v1/%25252e%25252e/admin"],
    ["api.test", "GET", "/v1/x%252fy"],
    ["api.test", "GET", "/v1/x%255cy"],
    ["api.test", "GET", "/v1/%2500"],
    ["api.test", "GET", "/v1/%c0%ae%c0%ae/admin"],
    ["api.test", "GET", "/v1/%e0%80%ae/admin"],
    ["api.test", "GET", "/v1/%ef%bc%8f..%ef%bc%8fadmin"],
    ["api.test", "GET", "/v1/%ef%bc%8e%ef%bc%8e/admin"],
    ["api.test", "GET", "/v1//x"],
    ["api.test", "GET", "/v1;a=b/x"],
    ["api.test", "GET", "/v1/x\u00e9"],
    ["api.test", "GET", "/v1/%0a"],
    ["api.test", "GET", "/v1/%25%32%65%25%32%65/admin"],
    ["api.test", "GET", "/v1/%2525252525252e"],
  ])("%s %s %s → nothing", (host, method, path) => {
    expect(matchRoute(routes, { host, method, path })).toBeUndefined();
  });
});

describe("path helpers", () => {
  it("treats a prefix without a trailing slash as whole segments", () => {
    expect(pathHasPrefix("/v1", "/v1")).toBe(true);
    expect(pathHasPrefix("/v1/x", "/v1")).toBe(true);
    expect(pathHasPrefix("/v1x", "/v1")).toBe(false);
    expect(pathHasPrefix("/v1x", "/v1/")).toBe(false);
    expect(pathHasPrefix("/anything", "/")).toBe(true);
  });

  it.each([
    ["/a/./b", true],
    ["/a/.%2e/b", true],
    ["/a\\b", true],
    ["/a%5cb", true],
    ["/a%00", true],
    ["*", true],
    ["/a/..b/c", false],
    ["/a/.well-known", false],
    ["/a/b.c", false],
  ])("isAmbiguousPath(%j) is %s", (path, expected) => {
    expect(isAmbiguousPath(path)).toBe(expected);
  });

  it.each([
    ["/v1/x", ["/v1/x"]],
    ["/v1/a%20b", ["/v1/a%20b", "/v1/a b"]],
    ["/v1/100%", ["/v1/100%"]],
    ["/v1/x;v=1", ["/v1/x;v=1", "/v1/x"]],
    ["/v1/%2525", ["/v1/%2525", "/v1/%25", "/v1/%"]],
  ])("pathReadings(%j) is %j", (path, readings) => {
    expect(pathReadings(path)).toEqual(readings);
  });

  it("gives a route on an encoded path that reads the same at every level", () => {
    expect(
      matchRoute(routes, { host: "api.test", method: "GET", path: "/v1/a%20b" })?.tokenEnv,
    ).toBe("T0");
    expect(
      matchRoute(routes, { host: "api.test", method: "GET", path: "/v1/x;v=1" })?.tokenEnv,
    ).toBe("T0");
  });

  it("knows route hosts whatever their spelling", () => {
    expect(isRouteHost(routes, "API.TEST")).toBe(true);
    expect(isRouteHost(routes, "api.test.")).toBe(true);
    expect(isRouteHost(routes, "sub.api.test")).toBe(false);
  });
});
