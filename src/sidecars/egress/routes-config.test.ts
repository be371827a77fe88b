import { describe, expect, it } from "vitest";
import { upstreamRequestHeaders } from "./proxy-headers.js";
import {
  parseRoutesFile,
  publicRoutes,
  type RoutesFile,
  resolveRoutes,
  secretRedactor,
} from "./routes-config.js";
import { routeSecrets } from "./token-scrub.js";

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

describe("the header scheme", () => {
  const env = { T: "g-token-value-123" };

  it("puts the token, whole, in the named header, lower-cased", () => {
    const routes = resolveRoutes(
      file([
        { host: "gen.test", auth: { scheme: "header", header: "X-Goog-Api-Key", tokenEnv: "T" } },
      ]),
      env,
    );
    expect(routes[0]?.header).toEqual({ name: "x-goog-api-key", value: "g-token-value-123" });
    expect(publicRoutes(routes)).toEqual([
      {
        host: "gen.test",
        paths: ["/"],
        methods: "all",
        scheme: "header",
        header: "x-goog-api-key",
        tokenEnv: "T",
      },
    ]);
  });

  it("replaces the agent's own value of that header, in any case, and drops its other credentials", () => {
    const [route] = resolveRoutes(
      file([
        { host: "gen.test", auth: { scheme: "header", header: "x-goog-api-key", tokenEnv: "T" } },
      ]),
      env,
    );
    const headers = upstreamRequestHeaders(
      ["X-GOOG-API-KEY", "placeholder", "x-goog-api-key", "second", "Authorization", "Bearer p"],
      route?.header,
    );
    expect(headers["x-goog-api-key"]).toBe("g-token-value-123");
    expect(headers.authorization).toBeUndefined();
  });

  it("is redacted and scrubbed whole from what egress writes and relays", () => {
    const routes = resolveRoutes(
      file([
        { host: "gen.test", auth: { scheme: "header", header: "x-goog-api-key", tokenEnv: "T" } },
      ]),
      env,
    );
    expect(secretRedactor(routes, env)("echo g-token-value-123!")).toBe("echo [redacted]!");
    expect(routeSecrets(routes)).toEqual(["g-token-value-123"]);
  });

  it.each([
    ["Host", "frames or routes"],
    ["content-length", "frames or routes"],
    ["Transfer-Encoding", "frames or routes"],
    ["connection", "frames or routes"],
    ["keep-alive", "frames or routes"],
    ["te", "frames or routes"],
    ["upgrade", "frames or routes"],
    ["Proxy-Authorization", "frames or routes"],
    ["proxy-anything", "frames or routes"],
    ["x goog", "is not a header name"],
    ["x-goog:key", "is not a header name"],
    ["x-goog\r\nhost", "is not a header name"],
    ["", "is not a header name"],
  ])("refuses the header %j", (header, message) => {
    expect(() =>
      file([{ host: "gen.test", auth: { scheme: "header", header, tokenEnv: "T" } }]),
    ).toThrow(message);
  });

  it("needs the header's name, and takes no name with the other schemes", () => {
    expect(() => file([{ host: "gen.test", auth: { scheme: "header", tokenEnv: "T" } }])).toThrow(
      "routes[0].auth.header",
    );
    expect(() =>
      file([{ host: "gen.test", auth: { scheme: "Bearer", header: "x-k", tokenEnv: "T" } }]),
    ).toThrow('unknown key "header"');
  });
});
