import { describe, expect, it } from "vitest";
import {
  parseRoutesFile,
  publicRoutes,
  type RoutesFile,
  resolveRoutes,
  secretRedactor,
} from "./routes-config.js";

const file = (routes: unknown[]): RoutesFile =>
  parseRoutesFile(JSON.stringify({ routes }), "r.yaml");

describe("parseRoutesFile", () => {
  it("fills defaults and lower-cases hosts", () => {
    expect(
      parseRoutesFile(
        "routes:\n  - host: API.Example.test\n    auth: { scheme: Bearer, tokenEnv: T }\n",
        "r.yaml",
      ),
    ).toEqual({
      routes: [
        {
          host: "api.example.test",
          paths: ["/"],
          methods: "all",
          auth: { scheme: "Bearer", tokenEnv: "T" },
        },
      ],
    });
  });

  it.each([
    [
      { host: "a.test:443", auth: { scheme: "Bearer", tokenEnv: "T" } },
      "routes[0].host: must be one hostname",
    ],
    [
      { host: "*.a.test", auth: { scheme: "Bearer", tokenEnv: "T" } },
      "routes[0].host: must be one hostname",
    ],
    [
      { host: "a.test", paths: ["v1/"], auth: { scheme: "Bearer", tokenEnv: "T" } },
      'routes[0].paths[0]: must start with "/"',
    ],
    [
      { host: "a.test", paths: ["/v1/../x"], auth: { scheme: "Bearer", tokenEnv: "T" } },
      "routes[0].paths[0]: must start",
    ],
    [
      { host: "a.test", methods: ["get"], auth: { scheme: "Bearer", tokenEnv: "T" } },
      "routes[0].methods",
    ],
    [
      { host: "a.test", methods: [], auth: { scheme: "Bearer", tokenEnv: "T" } },
      "routes[0].methods",
    ],
    [{ host: "a.test", auth: { scheme: "Digest", tokenEnv: "T" } }, "routes[0].auth.scheme"],
    [
      { host: "a.test", auth: { scheme: "Bearer", tokenEnv: "1X" } },
      "routes[0].auth.tokenEnv: must be an environment variable name",
    ],
    [
      { host: "a.test", auth: { scheme: "Bearer", tokenEnv: "T", token: "x" } },
      'routes[0].auth.token: unknown key "token"',
    ],
  ])("rejects %j", (route, message) => {
    expect(() => file([route])).toThrow(message);
  });
});

describe("resolveRoutes", () => {
  const routes = file([
    { host: "a.test", auth: { scheme: "Bearer", tokenEnv: "A" } },
    { host: "b.test", auth: { scheme: "Basic", tokenEnv: "B" } },
    { host: "c.test", auth: { scheme: "token", tokenEnv: "C" } },
    { host: "d.test", auth: { scheme: "x-api-key", tokenEnv: "D" } },
  ]);

  it("builds each scheme's header from the environment", () => {
    const resolved = resolveRoutes(routes, { A: "ta", B: "u:p", C: "tc", D: "td" });
    expect(resolved.map((r) => r.header)).toEqual([
      { name: "authorization", value: "Bearer ta" },
      { name: "authorization", value: "Basic dTpw" },
      { name: "authorization", value: "token tc" },
      { name: "x-api-key", value: "td" },
    ]);
  });

  it("names every unset or empty variable, in file order", () => {
    expect(() => resolveRoutes(routes, { A: "", C: "tc" })).toThrow(
      [
        "route a.test: environment variable A is unset or empty; egress needs it for the route's token",
        "route b.test: environment variable B is unset or empty; egress needs it for the route's token",
        "route d.test: environment variable D is unset or empty; egress needs it for the route's token",
      ].join("\n"),
    );
  });

  it.each(["a\nb", " lead", "trail ", "tab\there", "é"])(
    "refuses %j without echoing it",
    (token) => {
      const run = () =>
        resolveRoutes(file([{ host: "a.test", auth: { scheme: "Bearer", tokenEnv: "A" } }]), {
          A: token,
        });
      expect(run).toThrow(
        "route a.test: environment variable A holds characters that cannot be sent",
      );
    },
  );

  it("shows the agent everything but the token", () => {
    const resolved = resolveRoutes(routes, { A: "ta", B: "u:p", C: "tc", D: "td" });
    const text = JSON.stringify(publicRoutes(resolved));
    for (const secret of ["ta", "u:p", "dTpw", "tc", "td"])
      expect(text).not.toContain(`"${secret}`);
    expect(publicRoutes(resolved)[0]).toEqual({
      host: "a.test",
      paths: ["/"],
      methods: "all",
      scheme: "Bearer",
      tokenEnv: "A",
    });
  });
});

describe("secretRedactor", () => {
  it("masks raw tokens and the header values built from them", () => {
    const env = { A: "secret-a", B: "user:pw" };
    const resolved = resolveRoutes(
      file([
        { host: "a.test", auth: { scheme: "Bearer", tokenEnv: "A" } },
        { host: "b.test", auth: { scheme: "Basic", tokenEnv: "B" } },
      ]),
      env,
    );
    const redact = secretRedactor(resolved, env);
    const b64 = Buffer.from("user:pw").toString("base64");
    expect(redact(`x secret-a y Bearer secret-a z user:pw ${b64}`)).toBe(
      "x [redacted] y [redacted] z [redacted] [redacted]",
    );
  });
});
