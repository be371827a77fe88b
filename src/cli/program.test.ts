import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCliCaptured } from "../../test/support/cli/captured-io.js";
import { planJson } from "../../test/support/fixtures/plan-fixture.js";

const run = runCliCaptured;

describe("claude-bottle compose", () => {
  let dir: string;
  let planPath: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cb-cli-"));
    planPath = join(dir, "plan.json");
    await writeFile(
      planPath,
      JSON.stringify(planJson({ git: true, egress: true, supervise: false }, dir)),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the Compose YAML for a plan", async () => {
    const { code, stdout, stderr } = await run("compose", "--plan", planPath);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const spec = parse(stdout);
    expect(spec.name).toBe("claude-bottle-demo-7f3a");
    expect(Object.keys(spec.services)).toEqual(["pipelock", "git-gate", "egress", "agent"]);
  });

  it("prints JSON with --json", async () => {
    const { code, stdout } = await run("compose", "--plan", planPath, "--json");
    expect(code).toBe(0);
    expect(JSON.parse(stdout).services.egress.container_name).toBe(
      "claude-bottle-egress-demo-7f3a",
    );
  });

  it("explains a malformed plan with file, line and field, exit 2, no stack", async () => {
    const bad = join(dir, "bad.json");
    const plan = planJson({ git: false, egress: false, supervise: false }, dir);
    plan.useRunsc = "sometimes";
    await writeFile(bad, JSON.stringify(plan, null, 2));
    const { code, stdout, stderr } = await run("compose", "--plan", bad);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(
      `claude-bottle: ${bad}:5:3: useRunsc: expected boolean, received string\n` +
        "  hint: see examples/plans/full.json for a complete plan\n",
    );
  });

  it("requires --plan", async () => {
    const { code, stderr } = await run("compose");
    expect(code).toBe(2);
    expect(stderr).toContain("error: required option '--plan <file>' not specified");
  });

  it("shows help that explains the command", async () => {
    const { code, stdout } = await run("compose", "--help");
    expect(code).toBe(0);
    expect(stdout).toContain("print the Compose v2 spec that a resolved bottle plan renders to");
    expect(stdout).toContain("claude-bottle compose --plan examples/plans/full.json");
  });

  it("rejects an unknown command", async () => {
    const { code, stderr } = await run("frobnicate");
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'frobnicate'");
  });
});
