import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { planJson } from "../../test/support/fixtures/plan-fixture.js";
import type { BottleBlueprint } from "../core/bottle-blueprint.js";
import { DockerBottlePlanSchema } from "../core/bottle-plan.js";
import { withFileLock } from "./file-lock.js";
import { initialPolicySnapshot, publishInitialPolicySnapshot } from "./policy-snapshot.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "cb-snapshot-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function blueprint(): BottleBlueprint {
  const plan = DockerBottlePlanSchema.parse(
    planJson({ git: true, egress: true, supervise: true }, root),
  );
  return {
    plan,
    pipelockPolicy: {
      allow: ["api.github.com", "*.githubusercontent.com"],
      dlp: { action: "block", secretEnv: ["PIPELOCK_SECRET_0"] },
      supervise: { enabled: true },
    },
  } as unknown as BottleBlueprint;
}

describe("policy snapshot", () => {
  it("tells the agent its policy without a token, a token's name or a key path", () => {
    const snapshot = initialPolicySnapshot(blueprint(), new Date("2030-01-01T00:00:00.000Z"));
    expect(snapshot.egress.allow).toEqual(["api.github.com", "*.githubusercontent.com"]);
    expect(snapshot.egress.dlp).toBe("block");
    expect(snapshot.git.remotes.map((r) => [r.name, r.url, r.gateUrl])).toEqual([
      [
        "app",
        "ssh://git@git.example.test:2222/team/app.git",
        "git://claude-bottle-git-gate-demo-7f3a/app.git",
      ],
      [
        "docs",
        "ssh://git@docs.example.test/team/docs.git",
        "git://claude-bottle-git-gate-demo-7f3a/docs.git",
      ],
    ]);
    const text = JSON.stringify(snapshot);
    expect(text).not.toMatch(/EGRESS_TOKEN|tokenEnv|PIPELOCK_SECRET|_ed25519|ca-key/);
  });

  it("is published in the queue and the agent's current-config dir", async () => {
    const bp = blueprint();
    await publishInitialPolicySnapshot(bp, new Date("2030-01-01T00:00:00.000Z"));
    const sp = bp.plan.supervisePlan;
    if (sp === null) throw new Error("fixture has supervision");
    const inQueue = await readFile(join(sp.queueDir, "policy.json"), "utf8");
    expect(await readFile(join(sp.currentConfigDir, "policy.json"), "utf8")).toBe(inQueue);
    expect(JSON.parse(inQueue).slug).toBe("demo-7f3a");
  });
});

describe("withFileLock", () => {
  it("runs one holder at a time and breaks a stale lock", async () => {
    const lock = join(root, "x.lock");
    const order: string[] = [];
    await Promise.all(
      ["a", "b"].map((name) =>
        withFileLock(lock, async () => {
          order.push(`${name}+`);
          await new Promise((r) => setTimeout(r, 30));
          order.push(`${name}-`);
        }),
      ),
    );
    expect([order.slice(0, 2), order.slice(2)].map((p) => p[0]?.[0] === p[1]?.[0])).toEqual([
      true,
      true,
    ]);
    await withFileLock(lock, async () => {
      await expect(
        withFileLock(lock, async () => "never", { timeoutMs: 100, staleMs: 60_000 }),
      ).rejects.toThrow(`another claude-bottle is deciding proposals (lock ${lock})`);
      expect(await withFileLock(lock, async () => "broke it", { staleMs: -1 })).toBe("broke it");
    });
  });
});
