import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadPlanFile, parsePlanText } from "../../src/backend/docker/plan-file.js";
import { InputError } from "../../src/shared/errors.js";
import { planJson } from "../support/fixtures/plan-fixture.js";

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error("expected an InputError");
}

const full = () => planJson({ git: true, egress: true, supervise: true });

describe("parsePlanText", () => {
  it("accepts a complete plan and fills defaults", () => {
    const plan = parsePlanText(JSON.stringify(full()), "plan.json");
    expect(plan.gitGatePlan.upstreams).toHaveLength(2);
    const minimal = full();
    delete minimal.useRunsc;
    delete minimal.forwardedEnv;
    expect(parsePlanText(JSON.stringify(minimal), "p.json")).toMatchObject({
      useRunsc: false,
      forwardedEnv: [],
    });
  });

  it("names file, line, field and expectation for a wrong type", () => {
    const plan = full();
    plan.useRunsc = "yes";
    const error = errorOf(() => parsePlanText(JSON.stringify(plan, null, 2), "plan.json"));
    expect(error.message).toBe("plan.json:5:3: useRunsc: expected boolean, received string");
    expect(error.hint).toBe("see examples/plans/full.json for a complete plan");
  });

  it("reports an unknown key at its own line", () => {
    const plan = full();
    (plan.proxyPlan as Record<string, unknown>).internalNetwrk = "x";
    const error = errorOf(() => parsePlanText(JSON.stringify(plan, null, 2), "plan.json"));
    expect(error.message).toBe(
      'plan.json:19:5: proxyPlan.internalNetwrk: unknown key "internalNetwrk"',
    );
  });

  it("reports a missing required key at its parent", () => {
    const plan = full();
    delete (plan.proxyPlan as Record<string, unknown>).caKeyHostPath;
    const error = errorOf(() => parsePlanText(JSON.stringify(plan, null, 2), "plan.json"));
    expect(error.message).toBe(
      "plan.json:13:16: proxyPlan.caKeyHostPath: missing required key (expected string)",
    );
  });

  it("lists every issue, each with its own location", () => {
    const plan = full();
    plan.slug = "Bad Slug";
    ((plan.egressPlan as { routes: Array<{ host: string }> }).routes[1] as { host: string }).host =
      "not a host";
    const error = errorOf(() => parsePlanText(JSON.stringify(plan, null, 2), "plan.json"));
    expect(error.message.split("\n")).toEqual([
      "plan.json:2:3: slug: must be lowercase letters, digits and dashes (at most 48), starting with a letter or digit",
      "plan.json:65:9: egressPlan.routes[1].host: must be a hostname like github.com",
    ]);
  });

  it("rejects relative host paths, which Compose would resolve against the wrong directory", () => {
    const plan = full();
    plan.buildContext = "context";
    const error = errorOf(() => parsePlanText(JSON.stringify(plan), "plan.json"));
    expect(error.message).toMatch(/^plan\.json:1:\d+: buildContext: must be an absolute path$/);
  });

  it("rejects a route whose token has no slot, and conflicting host pins", () => {
    const plan = full();
    (plan.egressPlan as { tokenEnvMap: Record<string, string> }).tokenEnvMap = {
      EGRESS_TOKEN_API: "API_TOKEN",
    };
    const upstreams = (
      plan.gitGatePlan as { upstreams: Array<{ extraHosts: Record<string, string> }> }
    ).upstreams;
    (upstreams[1] as { extraHosts: Record<string, string> }).extraHosts = {
      "git.example.test": "10.99.0.9",
    };
    const error = errorOf(() => parsePlanText(JSON.stringify(plan, null, 2), "plan.json"));
    expect(error.message.split("\n")).toEqual([
      "plan.json:37:11: gitGatePlan.upstreams[1].extraHosts.git.example.test: pins git.example.test to 10.99.0.9, but another upstream pins it to 10.99.0.5",
      'plan.json:71:11: egressPlan.routes[1].auth.tokenEnv: "EGRESS_TOKEN_UPLOADS" is not a key of egressPlan.tokenEnvMap',
    ]);
  });

  it("reports JSON syntax errors without echoing the input", () => {
    const error = errorOf(() => parsePlanText('{\n  "slug": "a",\n  "x": \n}', "plan.json"));
    expect(error.message).toBe("plan.json: not valid JSON: Unexpected token '}'");
  });

  it("rejects an empty file and a non-object", () => {
    expect(errorOf(() => parsePlanText("  \n", "plan.json")).message).toBe(
      "plan.json: the plan file is empty",
    );
    expect(errorOf(() => parsePlanText("[1]", "plan.json")).message).toBe(
      "plan.json:1:1: expected object, received array",
    );
  });
});

describe("loadPlanFile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "cb-plan-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a plan from disk", async () => {
    const path = join(dir, "plan.json");
    await writeFile(path, JSON.stringify(full()));
    expect((await loadPlanFile(path)).slug).toBe("demo-7f3a");
  });

  it("says which file it could not read", async () => {
    const path = join(dir, "missing.json");
    await expect(loadPlanFile(path)).rejects.toThrow(`cannot read plan file ${path}: ENOENT`);
  });
});
