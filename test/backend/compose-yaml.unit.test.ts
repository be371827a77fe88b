import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readComposeFacts } from "../../src/backend/compose-facts.js";
import { bottlePlanToCompose } from "../../src/core/compose.js";
import { escapeInterpolation, renderComposeYaml } from "../../src/core/compose-yaml.js";
import { makePlan } from "../support/fixtures/plan-fixture.js";

describe("renderComposeYaml", () => {
  it("round-trips through a YAML parser to the same spec", () => {
    const spec = bottlePlanToCompose(makePlan({ git: true, egress: true, supervise: true }));
    // Every "$" doubled, which Compose reads back as one.
    expect(parse(renderComposeYaml(spec))).toEqual(escapeInterpolation(spec));
  });

  it("doubles every $ so Compose cannot interpolate plan values", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal "${USER}" is the point
    const plan = makePlan({ git: false, egress: false, supervise: false }, "/state/$HOME/${USER}");
    const yaml = renderComposeYaml(bottlePlanToCompose(plan));
    expect(yaml).toContain("source: /state/$$HOME/$${USER}/pipelock.yaml");
    expect(yaml).not.toMatch(/[^$]\$[^$]/);
  });

  it("never contains token values from the environment, only their names", () => {
    const secrets = {
      API_TOKEN: "tok-api-7c1e9d0b5a2f4e63",
      UPLOADS_TOKEN: "tok-uploads-93be41d7aa0c",
      EGRESS_TOKEN_API: "tok-slot-api-5d2e8f1a",
      EGRESS_TOKEN_UPLOADS: "tok-slot-up-0b7c3e9d",
      CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-abcdefghijklmnop",
    };
    const saved = { ...process.env };
    Object.assign(process.env, secrets);
    try {
      for (const point of [
        { git: true, egress: true, supervise: true },
        { git: false, egress: true, supervise: false },
      ]) {
        const yaml = renderComposeYaml(bottlePlanToCompose(makePlan(point)));
        for (const value of Object.values(secrets)) expect(yaml).not.toContain(value);
        expect(yaml).toContain("- EGRESS_TOKEN_API\n");
        expect(yaml).toContain("- CLAUDE_CODE_OAUTH_TOKEN\n");
      }
    } finally {
      process.env = saved;
    }
  });
});

describe("readComposeFacts", () => {
  const root = { uid: 0, gid: 0 };
  const facts = (envFileNonEmpty: boolean) => ({
    envFileNonEmpty,
    sidecarUser: { uid: 10001, gid: 10001 },
  });

  it("reports a non-empty env file only when it exists and has content", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cb-facts-"));
    try {
      const plan = makePlan({ git: false, egress: false, supervise: false }, dir);
      expect(readComposeFacts(plan, root)).toEqual(facts(false));
      await writeFile(join(dir, "agent.env"), "");
      expect(readComposeFacts(plan, root)).toEqual(facts(false));
      await writeFile(join(dir, "agent.env"), "FOO=bar\n");
      expect(readComposeFacts(plan, root)).toEqual(facts(true));
      expect(readComposeFacts({ ...plan, envFile: null }, root)).toEqual(facts(false));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("runs the sidecars as the CLI's user, or as the fixed sidecar user when that is root", () => {
    const plan = makePlan({ git: false, egress: false, supervise: false });
    expect(readComposeFacts(plan, { uid: 1000, gid: 1000 }).sidecarUser).toEqual({
      uid: 1000,
      gid: 1000,
    });
    expect(readComposeFacts(plan, { uid: 1234, gid: 0 }).sidecarUser).toEqual({
      uid: 1234,
      gid: 0,
    });
    expect(readComposeFacts(plan, root).sidecarUser).toEqual({ uid: 10001, gid: 10001 });
  });
});
