import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bottleMounts } from "./bottle-mounts.js";
import { DockerBottlePlanSchema } from "./bottle-plan.js";
import { bottlePlanToCompose, DEFAULT_COMPOSE_FACTS } from "./compose.js";

const full = DockerBottlePlanSchema.parse(
  JSON.parse(readFileSync(new URL("../../examples/plans/full.json", import.meta.url), "utf8")),
);
const minimal = DockerBottlePlanSchema.parse(
  JSON.parse(readFileSync(new URL("../../examples/plans/minimal.json", import.meta.url), "utf8")),
);

describe("bottleMounts", () => {
  it("is what Compose binds, service by service, and nothing more", () => {
    for (const plan of [full, minimal]) {
      const spec = bottlePlanToCompose(plan, DEFAULT_COMPOSE_FACTS);
      const bound = Object.entries(spec.services).flatMap(([service, s]) =>
        (s?.volumes ?? []).map((v) => `${service} ${v.source} ${v.target} ${v.read_only}`),
      );
      const table = bottleMounts(plan).map(
        (m) => `${m.service} ${m.source} ${m.target} ${!m.writable}`,
      );
      expect(bound.sort()).toEqual(table.sort());
    }
  });

  it("marks every private key secret and nothing else", () => {
    const secrets = bottleMounts(full)
      .filter((m) => m.secret)
      .map((m) => m.source);
    expect(secrets).toEqual(
      expect.arrayContaining([full.proxyPlan.caKeyHostPath, full.egressPlan.caKeyHostPath]),
    );
    for (const u of full.gitGatePlan.upstreams) expect(secrets).toContain(u.identityFile);
    for (const m of bottleMounts(full).filter((m) => !m.secret)) {
      expect(m.source).not.toMatch(/key|identity|id_/);
    }
  });

  it("lets only supervise write, and only into its queue", () => {
    const writable = bottleMounts(full).filter((m) => m.writable);
    expect(writable.map((m) => [m.service, m.kind])).toEqual([["supervise", "live"]]);
  });

  it("gives no service two mounts at one target", () => {
    const targets = bottleMounts(full).map((m) => `${m.service}:${m.target}`);
    expect(new Set(targets).size).toBe(targets.length);
  });
});
