// Who owns what prepare stages: the files a Node sidecar reads belong to the user it runs
// as, with private keys 0600, so the sidecar reads them without any capability.

import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { allowHost, resolvedAgent, route } from "../../test/support/fixtures/agent-fixture.js";
import { blueprintOptions } from "../../test/support/unit/blueprint-options.js";
import { planBottle } from "../core/bottle-blueprint.js";
import { bottleMounts } from "../core/bottle-mounts.js";
import type { ResolvedAgent } from "../manifest/index.js";
import { prepareBottle, stageBottle } from "./prepare-bottle.js";

const self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

function agent(): ResolvedAgent {
  return resolvedAgent({
    egress: {
      allow: [allowHost("api.example.test", "route")],
      routes: [route("api.example.test")],
    },
  });
}

async function owner(path: string): Promise<string> {
  const s = await stat(path);
  return `${(s.mode & 0o777).toString(8)} ${s.uid}:${s.gid}`;
}

describe("prepareBottle ownership", () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), "cb-prepare-"));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const prepare = (host: { uid: number; gid: number }) =>
    prepareBottle(planBottle(agent(), blueprintOptions({ home })), {
      now: new Date("2026-01-01T00:00:00Z"),
      host,
    });

  it("refuses a state directory that exists: a slug drawn twice shares nothing", async () => {
    const first = await prepare(self);
    const key = await readFile(first.blueprint.plan.proxyPlan.caKeyHostPath, "utf8");
    await expect(prepare(self)).rejects.toThrow(
      /another bottle already has the slug [a-z0-9-]+-beef \(.* exists\)/,
    );
    // The first bottle's state is as it was.
    expect(await readFile(first.blueprint.plan.proxyPlan.caKeyHostPath, "utf8")).toBe(key);
  });

  // One of these two runs, as whoever runs the tests; the escape tests start real bottles both ways.
  it.skipIf(self.uid === 0)(
    "leaves a user's files its own and runs the sidecars as that user",
    async () => {
      const prepared = await prepare(self);
      const { plan, stateDir } = prepared.blueprint;
      const mine = `${self.uid}:${self.gid}`;
      expect(await owner(stateDir)).toBe(`700 ${mine}`);
      expect(await owner(plan.proxyPlan.caKeyHostPath)).toBe(`600 ${mine}`);
      expect(await owner(plan.egressPlan.caKeyHostPath)).toBe(`600 ${mine}`);
      expect(await owner(plan.supervisePlan?.queueDir ?? "")).toBe(`700 ${mine}`);
      const { services } = parse(await readFile(prepared.composeFile, "utf8"));
      for (const name of ["pipelock", "egress", "supervise"]) {
        expect(services[name].user, name).toBe(mine);
      }
    },
  );

  it.skipIf(self.uid !== 0)(
    "as root, hands each sidecar's files to the fixed sidecar user and keeps the rest",
    async () => {
      const prepared = await prepare({ uid: 0, gid: 0 });
      const { plan, stateDir } = prepared.blueprint;
      const sidecar = "10001:10001";
      expect(await owner(stateDir)).toBe("700 0:0");
      expect(await owner(plan.proxyPlan.caKeyHostPath)).toBe(`600 ${sidecar}`);
      expect(await owner(plan.proxyPlan.caCertHostPath)).toBe(`644 ${sidecar}`);
      expect(await owner(plan.proxyPlan.configPath)).toBe(`644 ${sidecar}`);
      expect(await owner(plan.egressPlan.caKeyHostPath)).toBe(`600 ${sidecar}`);
      expect(await owner(plan.egressPlan.routesPath)).toBe(`644 ${sidecar}`);
      const queue = plan.supervisePlan?.queueDir ?? "";
      expect(await owner(queue)).toBe(`700 ${sidecar}`);
      expect(await owner(join(queue, "proposals"))).toBe(`755 ${sidecar}`);
      expect(await owner(join(queue, "answers"))).toBe(`755 ${sidecar}`);
      // The agent's CA bundle and the compose file are the CLI's alone.
      expect(await owner(join(stateDir, "agent", "ca-bundle.pem"))).toBe("644 0:0");
      expect(await owner(prepared.composeFile)).toBe("644 0:0");
      const { services } = parse(await readFile(prepared.composeFile, "utf8"));
      for (const name of ["pipelock", "egress", "supervise"]) {
        expect(services[name].user, name).toBe(sidecar);
      }
    },
  );
});

describe("stageBottle", () => {
  it("writes nothing, and holds a content for every file it stages for a service", async () => {
    const home = await mkdtemp(join(tmpdir(), "cb-stage-"));
    try {
      const blueprint = planBottle(agent(), blueprintOptions({ suffix: "cafe", home }));
      const staged = await stageBottle(blueprint, new Date("2026-01-01T00:00:00Z"));
      expect(await readdir(home)).toEqual([]);
      const paths = new Set(staged.files.map((f) => f.path));
      for (const m of bottleMounts(blueprint.plan).filter(
        (m) => m.kind === "file" && !m.fromUser,
      )) {
        expect(paths, `${m.service} ${m.target}`).toContain(m.source);
      }
      const key = staged.files.find((f) => f.path === blueprint.plan.proxyPlan.caKeyHostPath);
      expect(key?.mode).toBe(0o600);
      expect(key?.content).toContain("PRIVATE KEY");
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
