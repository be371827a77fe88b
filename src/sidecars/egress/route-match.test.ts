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
    { host: "api.test", method: "GET", path: "/v1/x?y=1", tokenEnv: "T0" },
    { host: "API.test.", method: "POST", path: "/v1/x", tokenEnv: "T1" },
    { host: "api.test", method: "DELETE", path: "/admin", tokenEnv: "T1" },
    { host: "api.test", method: "DELETE", path: "/admin/users", tokenEnv: "T1" },
    { host: "other.test", method: "PATCH", path: "/anything", tokenEnv: "T2" },
  ])("$host $method $path → $tokenEnv (first match in file order)", ({ tokenEnv, ...request }) => {
    expect(matchRoute(routes, request)?.tokenEnv).toBe(tokenEnv);
  });

  it("matches no route of another host", () => {
    expect(
      matchRoute(routes, { host: "third.test", method: "GET", path: "/v1/x" }),
    ).toBeUndefined();
  });

  it.each([
    "/v2/x",
    "/administrator",
    "/v1",
    "/V1/x",
    "//v1/x",
    "/v1/../admin2",
    "/v1/%2E%2E/x",
    "/v1/x%2Fy",
    "/v1/..;/x",
    "/v1/%252e%252e/admin",
    "/v1/%252E%252e/admin",
    "/v1/%25252e%25252e/admin",
    "/v1/x%252fy",
    "/v1/x%255cy",
    "/v1/%2500",
    "/v1/%c0%ae%c0%ae/admin",
    "/v1/%e0%80%ae/admin",
    "/v1/%ef%bc%8f..%ef%bc%8fadmin",
    "/v1/%ef%bc%8e%ef%bc%8e/admin",
    "/v1//x",
    "/v1;a=b/x",
    "/v1/x\u00e9",
    "/v1/%0a",
    "/v1/%25%32%65%25%32%65/admin",
    "/v1/%2525252525252e",
  ])("api.test GET %s → nothing", (path) => {
    expect(matchRoute(routes, { host: "api.test", method: "GET", path })).toBeUndefined();
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
