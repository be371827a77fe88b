// The stack a bottle deploys as on Docker Swarm: the same services as its Compose project,
// with nothing the swarm must not hold (a secret in a definition) or cannot do (a bind mount
// from this host's disk).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { sidecarNamesOf } from "../../src/backend/swarm/swarm-deploy.js";
import { bottleMounts } from "../../src/core/bottle-mounts.js";
import { bottlePlanToCompose } from "../../src/core/compose.js";
import { renderStackYaml } from "../../src/core/stack-yaml.js";
import {
  agentEnvCommand,
  bottleToSwarmStack,
  bottleVolumes,
  type SwarmStack,
} from "../../src/core/swarm-stack.js";
import { MATRIX, makePlan, pointLabel } from "../support/fixtures/plan-fixture.js";

const require = createRequire(import.meta.url);
const schema = JSON.parse(
  readFileSync(require.resolve("docker-compose/schema/compose-spec.json"), "utf8"),
);
delete schema.$schema;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const sidecarUser = { uid: 10001, gid: 10001 };

function stackOf(point: (typeof MATRIX)[number]) {
  const plan = makePlan(point);
  const compose = bottlePlanToCompose(plan, { envFileNonEmpty: false, sidecarUser });
  const secretEnv = Object.values(compose.services).flatMap((s) =>
    (s?.environment ?? []).filter((e) => !e.includes("=")),
  );
  const imageIds = Object.fromEntries(
    Object.values(compose.services).map((s, i) => [s?.image, `sha256:${String(i).repeat(64)}`]),
  );
  return {
    plan,
    compose,
    stack: bottleToSwarmStack(plan, compose, {
      node: "n2",
      secretEnv,
      sidecarUser,
      imageIdOf: (tag) => imageIds[tag],
    }),
  };
}

const cases = MATRIX.map((p) => [pointLabel(p), p] as const);

describe("bottleToSwarmStack", () => {
  it("refuses an image it has no ID for", () => {
    const plan = makePlan({ git: false, egress: false, supervise: false });
    const compose = bottlePlanToCompose(plan, { envFileNonEmpty: false, sidecarUser });
    expect(() =>
      bottleToSwarmStack(plan, compose, {
        node: "n",
        secretEnv: [],
        sidecarUser,
        imageIdOf: () => undefined,
      }),
    ).toThrow(/must name its image by ID/);
  });

  it.each(cases)("is a valid Compose file with every service of the bottle (%s)", (_l, p) => {
    const { compose, stack } = stackOf(p);
    const ok = validate(parse(renderStackYaml(stack)));
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(Object.keys(stack.services).sort()).toEqual(Object.keys(compose.services).sort());
  });

  it.each(cases)("holds no secret by name in any environment (%s)", (_l, p) => {
    const { compose, stack } = stackOf(p);
    for (const [name, service] of Object.entries(stack.services)) {
      for (const entry of service?.environment ?? []) expect(entry, name).toContain("=");
      const bare = (
        compose.services[name as keyof typeof compose.services]?.environment ?? []
      ).filter((e) => !e.includes("="));
      // Each one arrives as a secret file of its own name, readable by the service's user only.
      for (const variable of bare) {
        const ref = service?.secrets?.find((s) => s.target === variable);
        expect(ref, `${name} ${variable}`).toBeDefined();
        expect(ref?.mode).toBe(0o400);
        expect(stack.secrets[ref?.source ?? ""]).toMatchObject({ external: true });
      }
    }
  });

  it.each(cases)("binds nothing from the host and ships every staged file (%s)", (_l, p) => {
    const { plan, stack } = stackOf(p);
    const yaml = renderStackYaml(stack);
    expect(yaml).not.toMatch(/type: bind/);
    for (const m of bottleMounts(plan).filter((m) => m.kind !== "program")) {
      const service = stack.services[m.service];
      const refs = [...(service?.configs ?? []), ...(service?.secrets ?? [])];
      const live = bottleVolumes(plan).find(
        (v) => v.mount.service === m.service && v.mount.target === m.target,
      );
      if (m.kind === "live") {
        // A live directory, or a live file in a directory of its own: a volume on the node.
        const volume = (service?.volumes ?? []).find((v) => v.target === live?.target);
        expect(volume, `${m.service} ${m.target}`).toMatchObject({
          type: "volume",
          read_only: !m.writable,
        });
        expect(stack.volumes[volume?.source ?? ""]?.name).toBe(live?.name);
      } else {
        const ref = refs.find((r) => r.target === m.target);
        expect(ref, `${m.service} ${m.target}`).toBeDefined();
        const object = (m.secret ? stack.secrets : stack.configs)[ref?.source ?? ""];
        expect(object).toMatchObject({ file: m.source });
      }
    }
  });

  it("moves pipelock's live policy into a volume, and tells pipelock where", () => {
    const { stack } = stackOf({ git: false, egress: false, supervise: false });
    const command = stack.services.pipelock?.command ?? [];
    const config = command[command.indexOf("--config") + 1] ?? "";
    expect(config).toMatch(/^\/run\/claude-bottle\/live\/pipelock\d+\/pipelock\.yaml$/);
    const dir = config.slice(0, config.lastIndexOf("/"));
    expect(stack.services.pipelock?.volumes).toContainEqual({
      type: "volume",
      source: dir.split("/").pop(),
      target: dir,
      read_only: true,
    });
  });

  it("hands keys to the sidecar's user alone, and keeps the gate's scripts executable", () => {
    const { plan, stack } = stackOf({ git: true, egress: true, supervise: true });
    const key = stack.services.pipelock?.secrets?.find((s) => s.target.endsWith("key.pem"));
    expect(key).toMatchObject({ uid: "10001", gid: "10001", mode: 0o400 });
    const hook = stack.services["git-gate"]?.configs?.find((c) => c.target.endsWith("pre-receive"));
    expect(hook?.mode).toBe(0o555);
    expect(plan.gitGatePlan.upstreams.length).toBeGreaterThan(0);
  });

  it("hands the agent its forwarded variables as secrets only it can read, never as env", () => {
    const { plan, stack } = stackOf({ git: false, egress: false, supervise: false });
    const agent = stack.services.agent;
    for (const name of plan.forwardedEnv) {
      expect(agent?.secrets).toContainEqual(
        expect.objectContaining({ target: name, uid: "1000", gid: "1000", mode: 0o400 }),
      );
      expect((agent?.environment ?? []).some((e) => e.split("=")[0] === name)).toBe(false);
    }
  });

  it("gives the start the name of every sidecar the agent reaches, to wait for", () => {
    const { plan, stack } = stackOf({ git: true, egress: true, supervise: true });
    const names = sidecarNamesOf(stack);
    expect(names).toContain(`claude-bottle-pipelock-${plan.slug}`);
    expect(names).toContain(`claude-bottle-git-gate-${plan.slug}`);
    expect(names.length).toBe(4);
  });

  it.each(cases)("pins every service to one node, resolves names without VIPs (%s)", (_l, p) => {
    const { stack } = stackOf(p);
    for (const service of Object.values(stack.services)) {
      // By ID, never by a tag a node would try to pull.
      expect(service?.image).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(service?.deploy.placement.constraints).toEqual(["node.hostname == n2"]);
      expect(service?.deploy.endpoint_mode).toBe("dnsrr");
    }
  });

  it.each(cases)("leaves the agent on the internal overlay only, never restarted (%s)", (_l, p) => {
    const { stack } = stackOf(p);
    expect(Object.keys(stack.services.agent?.networks ?? {})).toEqual(["internal"]);
    expect(stack.services.agent?.deploy.restart_policy.condition).toBe("none");
    expect(stack.networks.internal).toMatchObject({ driver: "overlay", internal: true });
    expect(stack.networks.egress.internal).toBeUndefined();
  });

  it("names every swarm object within 64 characters, with the slug", () => {
    const { plan, stack } = stackOf({ git: true, egress: true, supervise: true });
    const names = [stack.configs, stack.secrets, stack.volumes].flatMap((o) =>
      Object.values(o as SwarmStack["configs"]).map((x) => x.name),
    );
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(64);
      expect(name.startsWith(plan.slug)).toBe(true);
    }
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("agentEnvCommand", () => {
  const run = promisify(execFile);
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cb-agent-env-"));
    await writeFile(join(dir, "CB_ONE"), "first value with spaces; $(not run)");
    await writeFile(join(dir, "CB_TWO"), "second");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("runs the command with each variable read from its file, no value in argv", async () => {
    const argv = agentEnvCommand(
      ["CB_ONE", "CB_TWO"],
      ["sh", "-c", 'printf "%s|%s" "$CB_ONE" "$CB_TWO"'],
      dir,
    );
    expect(argv.join(" ")).not.toContain("first value");
    const { stdout } = await run(argv[0] as string, argv.slice(1));
    expect(stdout).toBe("first value with spaces; $(not run)|second");
  });

  it("stops before the command when a variable's file cannot be read", async () => {
    const argv = agentEnvCommand(["CB_ONE", "CB_GONE"], ["sh", "-c", "echo ran"], dir);
    const failed = await run(argv[0] as string, argv.slice(1)).catch((e) => e);
    expect(failed.code).toBe(126);
    expect(failed.stdout).toBe("");
    expect(failed.stderr).toContain("cannot read the agent's variable CB_GONE");
  });

  it("leaves a command alone without variables, and refuses a name that is not one word", () => {
    expect(agentEnvCommand([], ["claude"])).toEqual(["claude"]);
    expect(() => agentEnvCommand(["A;rm -rf /"], ["claude"])).toThrow(/shell word/);
  });
});
