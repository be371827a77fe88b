// When the start CLI is killed: before the agent is attached, the start guard removes what
// `compose up` goes on to make; after, the bottle is there to look at and to go back to:
// `info` shows its services, policy and what pipelock refused; `resume` attaches the agent
// again, then removes the bottle as start would have.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { slugOf, writeAgentBottle } from "./support/cli/cli-process.js";
import { useTestHome } from "./support/cli/use-test-home.js";
import { leftoversOf, nothingLeft } from "./support/docker/docker-state.js";
import { describeWithEngine } from "./support/docker/engine.js";
import { bottleYaml } from "./support/fixtures/bottle-yaml.js";

interface InfoJson {
  slug: string;
  attached: boolean;
  containers: Array<{ service: string; state: string }>;
  policy: { egress: { allow: string[] } } | null;
  refusals: Array<{ host: string; rule: string | null; decision: string }>;
}

describeWithEngine("a start CLI killed: the start guard, info and resume", () => {
  const t = useTestHome((home) =>
    writeAgentBottle(home, "ri", bottleYaml({ allow: ["allowed.example.test"], supervise: false })),
  );

  async function info(slug: string): Promise<InfoJson> {
    const r = await t.run(["info", slug, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as InfoJson;
  }

  it("shows a running bottle, then resumes it after its CLI is killed, and removes it", async () => {
    const cli = t.spawn([
      "start",
      "ri",
      "--yes",
      "--exec",
      "curl -s -o /dev/null -m 5 https://unlisted.example.test/; sleep 600",
    ]);
    // The program is attached once the CLI says it is running it.
    for (let i = 0; i < 600 && !cli.output().stderr.includes("running: "); i++) await sleep(500);
    const slug = slugOf(cli.output().stderr);
    try {
      let shown = await info(slug);
      for (
        let i = 0;
        i < 60 && !shown.refusals.some((r) => r.host === "unlisted.example.test");
        i++
      ) {
        await sleep(1000);
        shown = await info(slug);
      }
      expect(shown.attached).toBe(true);
      expect(shown.policy?.egress.allow).toEqual(["allowed.example.test"]);
      expect(shown.containers.map((c) => `${c.service}:${c.state}`).sort()).toEqual([
        "agent:running",
        "pipelock:running",
      ]);
      expect(shown.refusals).toContainEqual(
        expect.objectContaining({
          host: "unlisted.example.test",
          rule: "not-allowlisted",
          decision: "denied",
        }),
      );
      const text = await t.run(["info", slug]);
      expect(text.stdout).toContain(`bottle ${slug}: agent ri, bottle ri, running`);
      expect(text.stdout).toContain("allowed hosts: allowed.example.test");
      expect(text.stdout).toMatch(/denied\s+CONNECT unlisted\.example\.test:443\s+not-allowlisted/);

      // 'exit', not 'close': the docker exec it started still holds its pipes.
      const exited = new Promise((resolve) => cli.once("exit", resolve));
      cli.kill("SIGKILL");
      await exited;
      expect((await info(slug)).attached).toBe(false);

      const resumed = await t.run([
        "resume",
        slug,
        "--exec",
        'echo "resumed as $(id -un)"; exit 4',
      ]);
      expect(resumed.stderr).toContain(`resuming ${slug}: its start CLI is gone`);
      expect(resumed.stdout).toContain("resumed as agent\n");
      expect(resumed.code).toBe(4);
      expect(leftoversOf(slug)).toEqual(nothingLeft());
    } finally {
      if (cli.exitCode === null) cli.kill("SIGKILL");
    }
  });

  it("leaves nothing behind when the CLI is killed while the bottle is coming up", async () => {
    const cli = t.spawn(["start", "ri", "--yes", "--exec", "sleep 600"]);
    for (let i = 0; i < 600 && !cli.output().stderr.includes("starting bottle"); i++) {
      await sleep(100);
    }
    const slug = slugOf(cli.output().stderr);
    const exited = new Promise((resolve) => cli.once("exit", resolve));
    cli.kill("SIGKILL");
    await exited;
    // compose up goes on by itself for a while; the guard takes it all down after it.
    let left = leftoversOf(slug);
    for (
      let i = 0;
      i < 120 &&
      (JSON.stringify(left) !== JSON.stringify(nothingLeft()) ||
        existsSync(join(t.home, "state", slug)));
      i++
    ) {
      await sleep(1000);
      left = leftoversOf(slug);
    }
    expect(left).toEqual(nothingLeft());
    expect(existsSync(join(t.home, "state", slug))).toBe(false);
    // And it stays that way: nothing comes up after the guard is done.
    await sleep(3000);
    expect(leftoversOf(slug)).toEqual(nothingLeft());
  });

  it("names a bottle that is not there, with exit code 2", async () => {
    for (const command of ["resume", "info"]) {
      const r = await t.run([command, "nosuchbottle"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no bottle "nosuchbottle"');
      expect(r.stderr).not.toContain("    at ");
    }
  });
});
