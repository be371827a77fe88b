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

describe("each provider's own files", () => {
  it("claude: CLAUDE.md, and the MCP server in ~/.claude.json only when supervised", () => {
    const claude = agentProviderModule("claude");
    const files = claude.homeFiles({ prompt: "P", supervise: SUPERVISE, literalEnv: {} });
    expect(files.map((f) => [f.path, f.mode])).toEqual([
      [".claude/CLAUDE.md", "644"],
      [".claude.json", "600"],
    ]);
    expect(JSON.parse(files[1]?.content ?? "")).toEqual({
      mcpServers: { supervise: { type: "http", url: "http://supervise:8765/mcp" } },
    });
    expect(claude.homeFiles({ prompt: "P", supervise: null, literalEnv: {} })).toHaveLength(1);
    expect(claude.environment(PATHS, SUPERVISE).MCP_TOOL_TIMEOUT).toBe("660000");
  });

  it("codex: AGENTS.md, [mcp_servers.supervise] in config.toml, the placeholder key, its CA variable", () => {
    const codex = agentProviderModule("codex");
    const files = codex.homeFiles({
      prompt: "P",
      supervise: SUPERVISE,
      literalEnv: { OPENAI_API_KEY: "placeholder" },
    });
    expect(files.map((f) => f.path)).toEqual([
      ".codex/AGENTS.md",
      ".codex/config.toml",
      ".codex/auth.json",
    ]);
    expect(files[1]?.content).toBe(
      [
        "# Written by claude-bottle when the bottle started.",
        "check_for_update_on_startup = false",
        "",
        "[mcp_servers.supervise]",
        'url = "http://supervise:8765/mcp"',
        "tool_timeout_sec = 660",
        "",
      ].join("\n"),
    );
    expect(JSON.parse(files[2]?.content ?? "")).toEqual({ OPENAI_API_KEY: "placeholder" });
    // A key forwarded from the host is never written into a file.
    expect(
      codex.homeFiles({ prompt: "P", supervise: null, literalEnv: {} }).map((f) => f.path),
    ).toEqual([".codex/AGENTS.md", ".codex/config.toml"]);
    expect(codex.environment(PATHS, null)).toEqual({ CODEX_CA_CERTIFICATE: "/bundle.crt" });
  });

  it("gemini: GEMINI.md, and settings.json with the API-key login and mcpServers", () => {
    const gemini = agentProviderModule("gemini");
    const [prompt, settings] = gemini.homeFiles({
      prompt: "P",
      supervise: SUPERVISE,
      literalEnv: {},
    });
    expect(prompt?.path).toBe(".gemini/GEMINI.md");
    expect(settings?.path).toBe(".gemini/settings.json");
    expect(JSON.parse(settings?.content ?? "")).toMatchObject({
      security: { auth: { selectedType: "gemini-api-key" } },
      mcpServers: {
        supervise: { httpUrl: "http://supervise:8765/mcp", timeout: 660000, trust: true },
      },
    });
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

  it("attaches each provider with every permission, and says how to get a missing one", () => {
    expect(agentLauncher("claude")).toContain('exec claude --dangerously-skip-permissions "$@"');
    expect(agentLauncher("codex")).toContain(
      'exec codex --dangerously-bypass-approvals-and-sandbox "$@"',
    );
    expect(agentLauncher("gemini")).toContain('exec gemini --yolo "$@"');
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
