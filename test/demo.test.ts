// `claude-bottle demo`, the README's main command, run as a user runs it: every step must
// behave, and nothing of it may be left behind.
import { execFileSync } from "node:child_process";
import { expect, it } from "vitest";
import { makeTestHome } from "./support/cli/cli-process.js";
import { describeWithEngine } from "./support/docker/engine.js";
import { sharedAgentCache } from "./support/standins/model-standin/agent-run.js";

describeWithEngine("claude-bottle demo", () => {
  it("passes every step, the real Claude Code included, and removes everything it started", async () => {
    const t = await makeTestHome();
    try {
      // The cache the real-agent tests share: the demo fetches Claude Code into it once.
      const result = await t.run(["demo", "--json"], {
        CLAUDE_BOTTLE_AGENT_CACHE: sharedAgentCache(),
      });
      const steps = JSON.parse(result.stdout) as Array<{
        title: string;
        ok: boolean;
        detail: string;
        skipped?: boolean;
      }>;
      expect(steps.filter((s) => !s.ok || s.skipped)).toEqual([]);
      expect(steps.map((s) => s.title)).toEqual([
        "allowlisted docs.demo.test answers through intercepted TLS",
        "unlisted unlisted.demo.test is refused",
        "a credential-shaped POST to an allowed host is blocked by DLP",
        "a routed call to models.demo.test carries the real token the agent never saw",
        "a push of an AWS-shaped key is rejected by gitleaks",
        "a clean push lands upstream",
        "the agent asks for later.demo.test; an approval opens it live",
        "the real Claude Code runs headless in the bottle against a stand-in model API",
      ]);
      expect(result.code).toBe(0);
      // Steps wait until the sidecars resolve the stand-ins (a first run failed on ENOTFOUND),
      // and the silent real-agent step says it is running.
      expect(result.stderr).toContain(
        "waiting until the bottle's sidecars resolve the stand-ins' names",
      );
      expect(result.stderr).toContain("running the real Claude Code in the bottle");
      const left = execFileSync(
        "docker",
        ["ps", "-a", "--filter", "label=dev.claude-bottle.demo", "--format", "{{.Names}}"],
        { encoding: "utf8" },
      ).trim();
      expect(left).toBe("");
      // Not even the egress network, which the stand-ins were attached to.
      const networks = execFileSync("docker", ["network", "ls", "--format", "{{.Name}}"], {
        encoding: "utf8",
      })
        .split("\n")
        .filter((n) => n.startsWith("claude-bottle-demo-"));
      expect(networks).toEqual([]);
      const bottles = execFileSync("docker", ["ps", "-a", "--format", "{{.Names}}"], {
        encoding: "utf8",
      })
        .split("\n")
        .filter((n) => n.startsWith("claude-bottle-") && n.includes("-demo-"));
      expect(bottles).toEqual([]);
    } finally {
      await t.dispose();
    }
  });
});
