// The rendered spec must satisfy the official Compose JSON schema on every matrix point.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { bottlePlanToCompose } from "../../src/core/compose.js";
import { renderComposeYaml } from "../../src/core/compose-yaml.js";
import { MATRIX, makePlan, pointLabel } from "../support/fixtures/plan-fixture.js";

const require = createRequire(import.meta.url);
const schema = JSON.parse(
  readFileSync(require.resolve("docker-compose/schema/compose-spec.json"), "utf8"),
);
// ajv 8 does not know the draft-07 meta-schema URL the file names.
delete schema.$schema;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

describe("official Compose JSON schema", () => {
  it.each(MATRIX.map((p) => [pointLabel(p), p] as const))("accepts %s", (_label, point) => {
    const facts = { envFileNonEmpty: true, sidecarUser: { uid: 1000, gid: 1000 } };
    const yaml = renderComposeYaml(bottlePlanToCompose(makePlan(point), facts));
    const ok = validate(parse(yaml));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it("rejects a spec with a misspelt service key (the check can fail)", () => {
    const spec = bottlePlanToCompose(makePlan({ git: false, egress: false, supervise: false }));
    const broken = {
      ...spec,
      services: { ...spec.services, agent: { ...spec.services.agent, imgae: "x" } },
    };
    expect(validate(broken)).toBe(false);
  });
});
