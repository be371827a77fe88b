import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPlanFile, MAX_PLAN_BYTES, parsePlanText } from "../../src/backend/plan-file.js";
import { InputError } from "../../src/shared/errors.js";
import { planJson } from "../support/fixtures/plan-fixture.js";
import { tempDirPerTest } from "../support/unit/temp-dir.js";

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
type Plan = ReturnType<typeof full>;
const proxy = (p: Plan) => p.proxyPlan as Record<string, unknown>;

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

describe("parsePlanText: names the plan does not own, and text that is not one line", () => {
  it.each([
    [
      "a network named host",
      (p: Plan) => (proxy(p).internalNetwork = "host"),
      "proxyPlan.internalNetwork",
      '"claude-bottle-demo-7f3a-internal"',
    ],
    [
      "a network named bridge",
      (p: Plan) => (proxy(p).egressNetwork = "bridge"),
      "proxyPlan.egressNetwork",
      '"claude-bottle-demo-7f3a-egress"',
    ],
    [
      "another bottle's container",
      (p: Plan) => (p.containerName = "claude-bottle-agent-other-0000"),
      "containerName",
      '"claude-bottle-agent-demo-7f3a"',
    ],
  ])("refuses %s, naming the one it must be", (_, change, path, expected) => {
    const plan = full();
    change(plan);
    const error = errorOf(() => parsePlanText(JSON.stringify(plan, null, 2), "plan.json"));
    expect(error.message).toMatch(
      new RegExp(
        `^plan\\.json:\\d+:\\d+: ${path.replace(/\./g, "\\.")}: must be ${expected} for slug "demo-7f3a"`,
      ),
    );
  });

  it.each(["HTTPS_PROXY", "https_proxy", "NO_PROXY", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"])(
    "refuses forwarding %s, which would let the host's value replace the bottle's",
    (name) => {
      const plan = full();
      plan.forwardedEnv = ["ANTHROPIC_BASE_URL", name];
      const error = errorOf(() => parsePlanText(JSON.stringify(plan, null, 2), "plan.json"));
      expect(error.message).toMatch(/^plan\.json:\d+:\d+: forwardedEnv\[1\]: /);
      expect(error.message).toContain(`"${name}" is set by the bottle itself`);
    },
  );

  it.each([
    [
      "a newline in the container name",
      (p: Plan) => (p.containerName = "claude-bottle-agent-demo-7f3a\nx"),
      "containerName",
      "000A",
    ],
    [
      "an escape in an image",
      (p: Plan) => (p.runtimeImage = "img\u001b[2J"),
      "runtimeImage",
      "001B",
    ],
    ["a C1 control in a path", (p: Plan) => (p.home = "/home/u\u0085"), "home", "0085"],
  ])("refuses %s, naming where", (_, change, path, code) => {
    const plan = full();
    change(plan);
    const error = errorOf(() => parsePlanText(JSON.stringify(plan), "plan.json"));
    expect(error.message).toBe(
      `plan.json: ${path}: a control character (U+${code}) in a name, path or value`,
    );
  });
});

describe("loadPlanFile", () => {
  const dir = tempDirPerTest("cb-plan-");

  it("reads a plan from disk", async () => {
    const path = join(dir(), "plan.json");
    await writeFile(path, JSON.stringify(full()));
    expect((await loadPlanFile(path)).slug).toBe("demo-7f3a");
  });

  it("refuses what is not a regular file without reading it: a FIFO, a device", async () => {
    const fifo = join(dir(), "plan.fifo");
    execFileSync("mkfifo", [fifo]);
    // Nobody writes to it: a blocking read would never return.
    await expect(loadPlanFile(fifo)).rejects.toThrow(`${fifo}: is not a regular file`);
    await expect(loadPlanFile("/dev/zero")).rejects.toThrow("/dev/zero: is not a regular file");
  });

  it("refuses a plan over the size bound before reading it", async () => {
    const path = join(dir(), "big.json");
    await writeFile(path, JSON.stringify({ ...full(), padding: "x".repeat(MAX_PLAN_BYTES) }));
    const error = await loadPlanFile(path).then(
      () => undefined,
      (e: unknown) => e as InputError,
    );
    expect(error?.message).toMatch(
      new RegExp(
        `^${path}: \\d+ bytes, over the 1048576 bytes \\(1024 KiB\\) a plan file may have$`,
      ),
    );
  });

  it("refuses bytes that are not UTF-8 rather than turning a path into another", async () => {
    const path = join(dir(), "latin1.json");
    const text = JSON.stringify(full(), null, 2).replace('"home": "', '"home": "\u00ff');
    await writeFile(path, Buffer.from(text, "latin1"));
    await expect(loadPlanFile(path)).rejects.toThrow(
      /latin1\.json:\d+:\d+: byte 0xff at offset \d+ is not UTF-8/,
    );
  });

  it("says which file it could not read", async () => {
    const path = join(dir(), "missing.json");
    await expect(loadPlanFile(path)).rejects.toThrow(`cannot read plan file ${path}: ENOENT`);
  });
});
