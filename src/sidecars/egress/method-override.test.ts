import { describe, expect, it } from "vitest";
import { methodOverrides, overrideProblem } from "./method-override.js";
import type { ResolvedRoute } from "./routes-config.js";

const route = (paths: string[], methods: string[] | "all", n: number): ResolvedRoute => ({
  host: "api.test",
  paths,
  methods,
  scheme: "Bearer",
  tokenEnv: `T${n}`,
  header: { name: "authorization", value: `Bearer ${n}` },
});
const GET_ONLY = route(["/v1/"], ["GET"], 0);
const ADMIN = route(["/admin/"], "all", 1);
const ROUTES = [GET_ONLY, ADMIN];

describe("methodOverrides", () => {
  it("reads every override header, any case, every value", () => {
    const raw = [
      ["X-HTTP-Method-Override", "delete"],
      ["x-http-method", "PUT, patch"],
      ["X-METHOD-OVERRIDE", "post"],
      ["X-Other", "GET"],
    ].flat();
    expect(methodOverrides(raw, "/v1/x").map((o) => o.method)).toEqual([
      "DELETE",
      "PUT",
      "PATCH",
      "POST",
    ]);
  });

  it.each([
    ["/v1/x?_method=delete", ["DELETE"]],
    ["/v1/x?a=1&_METHOD=put&_method=patch", ["PUT", "PATCH"]],
    ["/v1/x?%5Fmethod=put", ["PUT"]],
    ["/v1/x?%255Fmethod=put", ["PUT"]],
    ["/v1/x?a;_method=put", ["PUT"]],
    ["/v1/x?_method", [""]],
    ["/v1/x?_method=%c0%ae", ["(unreadable)"]],
    ["/v1/x?method=delete&x_method=put", []],
    ["/v1/x#?_method=delete", []],
  ])("reads _method in %s", (target, methods) => {
    expect(methodOverrides([], target).map((o) => o.method)).toEqual(methods);
  });
});

describe("overrideProblem", () => {
  const problem = (path: string, headers: string[][] = []) =>
    overrideProblem(ROUTES, GET_ONLY, { host: "api.test", path, rawHeaders: headers.flat() });

  it("lets through overrides the route allows anyway", () => {
    expect(problem("/v1/x", [["X-HTTP-Method-Override", "GET"]])).toBeUndefined();
    expect(problem("/v1/x?_method=get")).toBeUndefined();
    expect(problem("/v1/x")).toBeUndefined();
  });

  it("refuses an override the route does not allow, naming it", () => {
    expect(problem("/v1/x", [["X-HTTP-Method-Override", "DELETE"]])).toBe(
      'the request asks for "DELETE" by the X-HTTP-Method-Override header; the route for api.test (T0) does not give its token to that method',
    );
    expect(problem("/v1/x?_method=POST")).toContain("a _method query parameter");
  });

  it("refuses path overrides outright", () => {
    expect(problem("/v1/x", [["x-original-url", "/admin/"]])).toContain("x-original-url header");
    expect(problem("/v1/x", [["X-Rewrite-URL", "/v1/x"]])).toContain("X-Rewrite-URL header");
  });

  it("lets a route that allows every method take any override", () => {
    expect(
      overrideProblem(ROUTES, ADMIN, {
        host: "api.test",
        path: "/admin/x?_method=DELETE",
        rawHeaders: ["X-HTTP-Method", "PURGE"],
      }),
    ).toBeUndefined();
  });
});
