import { describe, expect, it } from "vitest";
import {
  agentLauncher,
  agentProviderModule,
  commandWrapper,
  headlessCommand,
  headlessShellCommand,
  hostArch,
} from "./registry.js";

const SUPERVISE = { name: "supervise", url: "http://supervise:8765/mcp", toolTimeoutSeconds: 660 };
const PATHS = { caCert: "/ca.crt", caBundle: "/bundle.crt" };

const WORK = "/home/agent/work";

/** The provider's home files for prompt "P" in WORK: no supervise and no literal env unless given. */
function homeFilesOf(
  provider: "claude" | "codex" | "gemini",
  given: { supervise?: typeof SUPERVISE; literalEnv?: Record<string, string> } = {},
) {
  return agentProviderModule(provider).homeFiles({
    prompt: "P",
    supervise: given.supervise ?? null,
    literalEnv: given.literalEnv ?? {},
    workDir: WORK,
  });
}

describe("each provider's own files", () => {
  it("claude: onboarding done, ~/work trusted, the placeholder approved by its last 20 characters, the bypass acknowledged", () => {
    const files = homeFilesOf("claude", {
      supervise: SUPERVISE,
      literalEnv: { ANTHROPIC_API_KEY: "placeholder-egress-injects-the-real-key" },
    });
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      [".claude/CLAUDE.md", "644"],
      [".claude.json", "600"],
      [".claude/settings.json", "600"],
    ]);
    expect(JSON.parse(files[1]?.content ?? "")).toEqual({
      hasCompletedOnboarding: true,
      customApiKeyResponses: { approved: ["injects-the-real-key"], rejected: [] },
      projects: { [WORK]: { hasTrustDialogAccepted: true } },
      mcpServers: { supervise: { type: "http", url: "http://supervise:8765/mcp" } },
    });
    expect(JSON.parse(files[2]?.content ?? "")).toEqual({
      skipDangerousModePermissionPrompt: true,
    });
    const env = agentProviderModule("claude").environment(PATHS, SUPERVISE);
    expect(env.MCP_TOOL_TIMEOUT).toBe("660000");
    expect(env).toMatchObject({
      DISABLE_AUTOUPDATER: "1",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: "1",
    });
  });

  it("claude: approves no key it was not given as a literal (a subscription token needs none)", () => {
    const [, state] = homeFilesOf("claude", {
      literalEnv: { CLAUDE_CODE_OAUTH_TOKEN: "placeholder" },
    });
    expect(JSON.parse(state?.content ?? "")).toEqual({
      hasCompletedOnboarding: true,
      projects: { [WORK]: { hasTrustDialogAccepted: true } },
    });
  });

  it("codex: its own provider for the model API over HTTPS, trust, switches off, supervise, the placeholder key", async () => {
    const files = homeFilesOf("codex", {
      supervise: SUPERVISE,
      literalEnv: { OPENAI_API_KEY: "placeholder" },
    });
    expect(files.map((f) => f.path)).toEqual([
      ".codex/AGENTS.md",
      ".codex/config.toml",
      ".codex/auth.json",
    ]);
    // The whole file, as Codex reads it: a provider, trust, switches off, supervise.
    await expect(files[1]?.content).toMatchFileSnapshot("golden/codex-config.toml");
    expect(JSON.parse(files[2]?.content ?? "")).toEqual({
      auth_mode: "apikey",
      OPENAI_API_KEY: "placeholder",
    });
    // A key forwarded from the host is never written into a file.
    const bare = homeFilesOf("codex");
    expect(bare.map((f) => f.path)).toEqual([".codex/AGENTS.md", ".codex/config.toml"]);
    expect(bare[1]?.content).not.toContain("mcp_servers");
    expect(agentProviderModule("codex").environment(PATHS, null)).toEqual({
      CODEX_CA_CERTIFICATE: "/bundle.crt",
    });
  });

  it("codex: the bottle's OPENAI_BASE_URL is the provider's base URL", () => {
    const [, config] = homeFilesOf("codex", {
      literalEnv: { OPENAI_BASE_URL: "https://llm.example.test/v1" },
    });
    expect(config?.content).toContain('base_url = "https://llm.example.test/v1"');
  });

  it("gemini: GEMINI.md, settings.json with the API-key login, a pinned model and mcpServers, ~/work trusted", () => {
    const [prompt, settings, trusted] = homeFilesOf("gemini", { supervise: SUPERVISE });
    expect(prompt?.path).toBe(".gemini/GEMINI.md");
    expect(settings?.path).toBe(".gemini/settings.json");
    expect(JSON.parse(settings?.content ?? "")).toEqual({
      security: { auth: { selectedType: "gemini-api-key" } },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
      privacy: { usageStatisticsEnabled: false },
      model: { name: "gemini-2.5-pro" },
      mcpServers: {
        supervise: { httpUrl: "http://supervise:8765/mcp", timeout: 660000, trust: true },
      },
    });
    expect(trusted?.path).toBe(".gemini/trustedFolders.json");
    expect(JSON.parse(trusted?.content ?? "")).toEqual({ [WORK]: "TRUST_FOLDER" });
  });

  it("every provider names the versions its seed was proved for, its default among them", () => {
    for (const provider of ["claude", "codex", "gemini"] as const) {
      const module = agentProviderModule(provider);
      expect(module.provenVersions).toContain(module.defaultVersion);
    }
  });
});

describe("commands in the container", () => {
  it("wraps a native program with its PATH dirs, and a JavaScript one with node", () => {
    expect(
      commandWrapper("codex", {
        version: "0.171.0",
        binary: "vendor/x86_64-unknown-linux-musl/bin/codex",
        interpreter: null,
        pathDirs: ["vendor/x86_64-unknown-linux-musl/codex-path"],
      }),
    ).toBe(
      [
        "#!/bin/sh",
        "# Codex 0.171.0, mounted read-only from the host's claude-bottle cache.",
        'PATH=/opt/claude-bottle/agent/vendor/x86_64-unknown-linux-musl/codex-path:"$PATH"',
        "export PATH",
        'exec /opt/claude-bottle/agent/vendor/x86_64-unknown-linux-musl/bin/codex "$@"',
        "",
      ].join("\n"),
    );
    expect(
      commandWrapper("gemini", {
        version: "0.61.0",
        binary: "bundle/gemini.js",
        interpreter: "node",
        pathDirs: [],
      }),
    ).toContain('exec node /opt/claude-bottle/agent/bundle/gemini.js "$@"');
  });

  it.each([
    ["claude", 'exec claude --dangerously-skip-permissions "$@"'],
    ["codex", 'exec codex --dangerously-bypass-approvals-and-sandbox "$@"'],
    ["gemini", 'exec gemini --yolo "$@"'],
  ] as const)("attaches %s with every permission", (provider, exec) => {
    expect(agentLauncher(provider)).toContain(exec);
  });

  it("says how to get a missing provider", () => {
    expect(agentLauncher("codex")).toContain("run \\`claude-bottle fetch codex\\` on the host");
  });

  it("runs one prompt headless, quoted for sh -lc", () => {
    expect(headlessCommand("claude", "fix it")).toEqual([
      "claude",
      "-p",
      "fix it",
      "--dangerously-skip-permissions",
    ]);
    expect(headlessCommand("codex", "x")).toEqual([
      "codex",
      "exec",
      "--dangerously-bypass-approvals-and-sandbox",
      "--skip-git-repo-check",
      "x",
    ]);
    expect(headlessShellCommand("gemini", "it's $HOME")).toBe(`gemini --yolo -p 'it'\\''s $HOME'`);
  });

  it("knows x64 and arm64 hosts only", () => {
    expect(hostArch("x64")).toBe("x64");
    expect(hostArch("arm64")).toBe("arm64");
    expect(() => hostArch("ia32")).toThrow("no agent packages for the ia32 architecture");
  });
});
