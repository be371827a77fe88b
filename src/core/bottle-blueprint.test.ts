import { describe, expect, it } from "vitest";
import { AT, allowHost, resolvedAgent, route } from "../../test/support/fixtures/agent-fixture.js";
import { blueprintOptions } from "../../test/support/unit/blueprint-options.js";
import type { ResolvedAgent } from "../manifest/index.js";
import { PipelockConfigSchema } from "../sidecars/pipelock/config.js";
import { makeSlug, planBottle } from "./bottle-blueprint.js";
import { DockerBottlePlanSchema } from "./bottle-plan.js";

function agent(): ResolvedAgent {
  return resolvedAgent({
    env: {
      TZ: { kind: "literal", value: "UTC", declaredAt: AT },
      GH_TOKEN: { kind: "fromEnv", hostName: "MY_GH", declaredAt: AT },
    },
    egress: {
      allow: [allowHost("github.com"), allowHost("api.example.test", "route")],
      routes: [
        route("api.example.test", { paths: ["/v1/"], methods: ["GET"] }),
        route("up.example.test", { auth: { scheme: "token", tokenEnv: "API_TOKEN" } }),
      ],
      dlp: "warn",
      wildcardLabels: { maxLength: 30, randomMinLength: 20 },
      wildcardNames: 8,
      rateLimit: {
        perSecond: 5,
        burst: 50,
        hosts: [{ pattern: "github.com", burst: 500, declaredAt: AT }],
      },
    },
  });
}

const options = blueprintOptions();

describe("planBottle", () => {
  const bp = planBottle(agent(), options);

  it("derives the slug, names and state paths, and the plan is valid", () => {
    expect(bp.plan.slug).toBe("dev-agent-beef");
    expect(bp.stateDir).toBe("/h/state/dev-agent-beef");
    expect(bp.plan.containerName).toBe("claude-bottle-agent-dev-agent-beef");
    expect(bp.plan.proxyPlan.configPath).toBe("/h/state/dev-agent-beef/pipelock/pipelock.yaml");
    expect(DockerBottlePlanSchema.parse(bp.plan)).toEqual(bp.plan);
  });

  it("splits env into staged literals and names forwarded from host variables", () => {
    expect(bp.agentEnvLiterals).toEqual({ TZ: "UTC" });
    expect(bp.plan.forwardedEnv).toEqual(["GH_TOKEN"]);
  });

  it("gives one egress slot per host token, shared by the routes that use it", () => {
    expect(bp.plan.egressPlan.tokenEnvMap).toEqual({ EGRESS_TOKEN_0: "API_TOKEN" });
    expect(bp.plan.egressPlan.routes.map((r) => r.auth.tokenEnv)).toEqual([
      "EGRESS_TOKEN_0",
      "EGRESS_TOKEN_0",
    ]);
    expect(bp.plan.egressPlan.routes[1]?.methods).toEqual([]);
  });

  it("feeds compose every slot from its host variable, values never in the plan", () => {
    expect(bp.composeEnvSources).toEqual({
      GH_TOKEN: "MY_GH",
      EGRESS_TOKEN_0: "API_TOKEN",
      PIPELOCK_SECRET_0: "API_TOKEN",
      PIPELOCK_SECRET_1: "MY_GH",
    });
  });

  it("gives pipelock a valid policy: route tokens allowed only to their route hosts", () => {
    expect(PipelockConfigSchema.parse(bp.pipelockPolicy)).toMatchObject({
      allow: ["github.com", "api.example.test"],
      dlp: {
        action: "warn",
        secretEnv: [
          { env: "PIPELOCK_SECRET_0", hosts: ["api.example.test", "up.example.test"] },
          "PIPELOCK_SECRET_1",
        ],
      },
      privateUpstreams: "deny",
      supervise: { enabled: true },
      wildcardLabels: { maxLength: 30, randomMinLength: 20 },
      wildcardNames: 8,
      // What a host entry leaves unset comes from the bottle-wide limit.
      rateLimit: {
        perSecond: 5,
        burst: 50,
        hosts: [{ pattern: "github.com", perSecond: 5, burst: 500 }],
      },
    });
    expect(bp.plan.proxyPlan.secretEnv).toEqual(["PIPELOCK_SECRET_0", "PIPELOCK_SECRET_1"]);
  });
});

describe("agent image and program", () => {
  it("runs the one built-in image, whatever the provider", () => {
    expect(planBottle(agent(), options).plan.runtimeImage).toBe("claude-bottle/agent:0.1.0");
  });

  it("plans the provider and, when cached, its package as the container needs it", () => {
    const codex = agent();
    codex.bottle.agent = "codex";
    expect(planBottle(codex, options).plan).toMatchObject({
      agentProvider: "codex",
      agentPackage: null,
    });
    const plan = planBottle(codex, {
      ...options,
      agentPackage: {
        provider: "codex",
        version: "0.171.0",
        arch: "arm64",
        spec: "@openai/codex@0.171.0-linux-arm64",
        dir: "/h/cache/agents/codex/0.171.0-linux-arm64/package",
        binary:
          "/h/cache/agents/codex/0.171.0-linux-arm64/package/vendor/aarch64-unknown-linux-musl/bin/codex",
        relativeBinary: "vendor/aarch64-unknown-linux-musl/bin/codex",
      },
    }).plan;
    expect(plan.agentPackage).toEqual({
      version: "0.171.0",
      hostDir: "/h/cache/agents/codex/0.171.0-linux-arm64/package",
      binary: "vendor/aarch64-unknown-linux-musl/bin/codex",
      interpreter: null,
      pathDirs: ["vendor/aarch64-unknown-linux-musl/codex-path"],
    });
    expect(DockerBottlePlanSchema.safeParse(plan).success).toBe(true);
  });

  it("refuses a package of another provider than the bottle's", () => {
    expect(() =>
      planBottle(agent(), {
        ...options,
        agentPackage: {
          provider: "gemini",
          version: "0.61.0",
          arch: "x64",
          spec: "@google/gemini-cli@0.61.0",
          dir: "/c/gemini/package",
          binary: "/c/gemini/package/bundle/gemini.js",
          relativeBinary: "bundle/gemini.js",
        },
      }),
    ).toThrow(/gemini package for a claude bottle/);
  });
});

describe("makeSlug", () => {
  it("keeps slugs to lowercase letters, digits and dashes", () => {
    expect(makeSlug("My_Agent!!", "00ff")).toBe("my-agent-00ff");
    expect(makeSlug("---", "00ff")).toBe("bottle-00ff");
  });
});
