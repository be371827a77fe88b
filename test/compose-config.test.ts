// Every point of the renderer's matrix must be accepted by the real `docker compose config`.
import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";
import { parse } from "yaml";
import { bottlePlanToCompose } from "../src/core/compose.js";
import { renderComposeYaml } from "../src/core/compose-yaml.js";
import { describeWithEngine } from "./support/docker/engine.js";
import { MATRIX, makePlan, pointLabel } from "./support/fixtures/plan-fixture.js";
import { tempDirPerFile } from "./support/unit/temp-dir.js";

interface Confined {
  user?: string;
  cap_drop?: string[];
  security_opt?: string[];
  read_only?: boolean;
  restart?: string;
}

function composeConfig(yaml: string, env: NodeJS.ProcessEnv = process.env) {
  return spawnSync("docker", ["compose", "-f", "-", "config", "--format", "json"], {
    input: yaml,
    encoding: "utf8",
    env,
  });
}

describeWithEngine("docker compose config", () => {
  const dir = tempDirPerFile("cb-config-$x-");

  it.each(MATRIX.map((p) => [pointLabel(p), p] as const))("accepts %s", (_label, point) => {
    const plan = makePlan(point, dir());
    const result = composeConfig(
      renderComposeYaml(
        bottlePlanToCompose(plan, {
          envFileNonEmpty: false,
          sidecarUser: { uid: 1000, gid: 1000 },
        }),
      ),
    );
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const config = JSON.parse(result.stdout);
    expect(config.name).toBe("claude-bottle-demo-7f3a");
    expect(Object.keys(config.services).sort()).toEqual(
      Object.keys(bottlePlanToCompose(plan).services).sort(),
    );
    expect(config.networks.internal.internal).toBe(true);
    // Compose keeps every confinement as written: an unknown or dropped key would run the
    // sidecar as root with Docker's default capabilities.
    for (const [name, service] of Object.entries(config.services) as [string, Confined][]) {
      if (name === "agent") {
        expect(service.restart, name).toBeUndefined();
        expect(service.user, name).toBeUndefined();
        continue;
      }
      expect(service.restart, name).toBe("on-failure");
      expect(service.cap_drop, name).toEqual(["ALL"]);
      expect(service.security_opt, name).toEqual(["no-new-privileges:true"]);
      expect(service.user, name).toBe(name === "git-gate" ? undefined : "1000:1000");
      expect(service.read_only, name).toBe(name === "git-gate" ? undefined : true);
    }
    // The "$x" in the temp dir's name survives interpolation literally (unescaped it would
    // expand to ""); `config` prints it re-escaped as "$$x" so its output stays valid Compose.
    expect(config.services.pipelock.volumes[0].source).toBe(
      `${dir().replaceAll("$", "$$$$")}/pipelock.yaml`,
    );
  });

  it("rejects a broken spec (the check can fail)", () => {
    const spec = bottlePlanToCompose(
      makePlan(MATRIX[0] ?? { git: false, egress: false, supervise: false }, dir()),
    );
    const yaml = renderComposeYaml(spec).replace("container_name:", "container_nmae:");
    const result = composeConfig(yaml);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("container_nmae");
  });

  it("takes token values from its own environment, by name only", () => {
    const plan = makePlan({ git: false, egress: true, supervise: false }, dir());
    const yaml = renderComposeYaml(bottlePlanToCompose(plan));
    const value = "tok-only-in-env-3f9a1c";
    expect(yaml).not.toContain(value);
    const config = JSON.parse(
      composeConfig(yaml, { ...process.env, EGRESS_TOKEN_API: value }).stdout,
    );
    expect(config.services.egress.environment.EGRESS_TOKEN_API).toBe(value);
    expect(parse(yaml).services.egress.environment).toContain("EGRESS_TOKEN_API");
  });
});
