// `doctor` says how many more bottles the engine has network addresses for, counted on the
// real engine: two networks made here take exactly one bottle's room, and removing them gives
// it back.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type CliResult, makeTestHome, type TestHome } from "../support/cli/cli-process.js";
import { describeWithEngine } from "../support/docker/engine.js";

interface Figures {
  bottles: number;
  networksUsed: number;
  networksTotal: number;
}

function docker(args: string[]): void {
  execFileSync("docker", args, { stdio: "pipe" });
}

// npm offline: doctor's agent checks must not reach a registry from a test.
const OFFLINE = { npm_config_offline: "true" };

function addressesOf(result: CliResult): Figures {
  const checks = JSON.parse(result.stdout) as { name: string; figures?: Figures }[];
  const check = checks.find((c) => c.name === "addresses");
  if (check?.figures === undefined) throw new Error(`no addresses check in ${result.stdout}`);
  return check.figures;
}

describeWithEngine("doctor: the engine's address pools", () => {
  let t: TestHome;
  const networks = [1, 2].map((i) => `cb-test-addresses-${process.pid}-${i}`);

  beforeAll(async () => {
    t = await makeTestHome();
  });
  afterAll(async () => {
    for (const name of networks) {
      try {
        docker(["network", "rm", name]);
      } catch {
        // Removed by the test, or never made.
      }
    }
    await t.dispose();
  });

  it("counts the networks on the engine, two to a bottle", async () => {
    const before = addressesOf(await t.runOk(["doctor", "--json"], OFFLINE));
    expect(before.networksTotal).toBeGreaterThan(before.networksUsed);
    // The default bridge holds one subnet, unless the engine was started without it.
    expect(before.bottles).toBe(Math.floor((before.networksTotal - before.networksUsed) / 2));

    for (const name of networks) {
      docker(["network", "create", "--label", "claude-bottle.test=doctor", name]);
    }
    const during = addressesOf(await t.runOk(["doctor", "--json"], OFFLINE));
    expect(during).toEqual({
      ...before,
      bottles: before.bottles - 1,
      networksUsed: before.networksUsed + 2,
    });

    docker(["network", "rm", ...networks]);
    expect(addressesOf(await t.runOk(["doctor", "--json"], OFFLINE))).toEqual(before);
  });

  it("prints the room in its table", async () => {
    const r = await t.runOk(["doctor"], OFFLINE);
    expect(r.stdout).toMatch(
      /^(ok {2}|note|FAIL) {2}addresses +(room for \d+ more bottles?|no room for another bottle) \(\d+ of the \d+ networks/m,
    );
  });
});
