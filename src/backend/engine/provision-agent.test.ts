import { describe, expect, it } from "vitest";
import { type AgentProvision, agentFiles } from "./provision-agent.js";

const base: AgentProvision = {
  container: "c",
  caBundle: "CA",
  provider: "codex",
  prompt: "P",
  skills: [],
  gitconfig: null,
  supervise: null,
  literalEnv: {},
  agentPackage: null,
};

describe("agentFiles", () => {
  it("writes the provider's files as the agent, and the launcher as root", () => {
    expect(agentFiles(base).map((f) => [f.path, f.mode, f.owner])).toEqual([
      ["/usr/local/share/ca-certificates/claude-bottle.crt", "644", "root:root"],
      ["/home/agent/.codex/AGENTS.md", "644", "agent:agent"],
      ["/home/agent/.codex/config.toml", "600", "agent:agent"],
      ["/usr/local/bin/claude-bottle-agent", "755", "root:root"],
    ]);
  });

  it("seeds the first-run choices for the agent's own ~/work", () => {
    const files = agentFiles({
      ...base,
      provider: "claude",
      literalEnv: { ANTHROPIC_API_KEY: "placeholder-egress-injects-the-real-key" },
    });
    const state = files.find((f) => f.path === "/home/agent/.claude.json");
    expect(state).toMatchObject({ mode: "600", owner: "agent:agent" });
    expect(JSON.parse(state?.content ?? "")).toMatchObject({
      hasCompletedOnboarding: true,
      customApiKeyResponses: { approved: ["injects-the-real-key"] },
      projects: { "/home/agent/work": { hasTrustDialogAccepted: true } },
    });
    const trusted = agentFiles({ ...base, provider: "gemini" }).find(
      (f) => f.path === "/home/agent/.gemini/trustedFolders.json",
    );
    expect(JSON.parse(trusted?.content ?? "")).toEqual({ "/home/agent/work": "TRUST_FOLDER" });
  });

  it("adds the command by name, root's, only when the package is mounted", () => {
    const files = agentFiles({
      ...base,
      provider: "gemini",
      agentPackage: {
        version: "0.61.0",
        binary: "bundle/gemini.js",
        interpreter: "node",
        pathDirs: [],
      },
    });
    const command = files.find((f) => f.path === "/usr/local/bin/gemini");
    expect(command).toMatchObject({ mode: "755", owner: "root:root" });
    expect(command?.content).toContain("exec node /opt/claude-bottle/agent/bundle/gemini.js");
    expect(
      agentFiles({ ...base, provider: "gemini" }).some((f) => f.path === "/usr/local/bin/gemini"),
    ).toBe(false);
  });
});
