// Claude Code: a native binary in @anthropic-ai/claude-code-linux-<arch>. Reads
// NODE_EXTRA_CA_CERTS, its MCP servers from ~/.claude.json and its prompt from
// ~/.claude/CLAUDE.md.
import type { AgentHomeFile, AgentProviderModule, HostArch } from "./agent-provider.js";

const PINNED = "2.1.336";
const PINNED_INTEGRITY: Record<HostArch, string> = {
  x64: "sha512-FRGBI9JUfXRoEgA5EFko/OkC/l3zDRwEQR032v0TZSe1Ku+estWXNBdbbO/v7uZgLa8w/jSLQixJ54HwYdk1iw==",
  arm64:
    "sha512-Q6BfaujTIPOl6t0eXECfe8t1UAfyJSjisXkp8RqcFClJYQAKew06whwch+/kdSyCOnYaCUUrOW8h8c5MibOIwQ==",
};

export const claudeProvider: AgentProviderModule = {
  name: "claude",
  title: "Claude Code",
  command: "claude",
  defaultVersion: PINNED,
  packageFor(version, arch) {
    return {
      spec: `@anthropic-ai/claude-code-linux-${arch}@${version}`,
      binary: "claude",
      interpreter: null,
      pathDirs: [],
      ...(version === PINNED ? { integrity: PINNED_INTEGRITY[arch] } : {}),
    };
  },
  environment(_paths, supervise) {
    return {
      // The package is mounted read-only and pinned by the manifest: never self-update.
      DISABLE_AUTOUPDATER: "1",
      // Telemetry and error reports go to hosts the bottle does not allow.
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      // A supervise call that waits for a human must outlive supervise's own timeout.
      ...(supervise === null
        ? {}
        : { MCP_TOOL_TIMEOUT: String(supervise.toolTimeoutSeconds * 1000) }),
    };
  },
  homeFiles({ prompt, supervise }) {
    const files: AgentHomeFile[] = [{ path: ".claude/CLAUDE.md", mode: "644", content: prompt }];
    if (supervise !== null) {
      const config = { mcpServers: { [supervise.name]: { type: "http", url: supervise.url } } };
      files.push({
        path: ".claude.json",
        mode: "600",
        content: `${JSON.stringify(config, null, 2)}\n`,
      });
    }
    return files;
  },
  skillsDir: ".claude/skills",
  interactiveArgs: ["--dangerously-skip-permissions"],
  headlessArgs: (prompt) => ["-p", prompt, "--dangerously-skip-permissions"],
  modelApi: {
    host: "api.anthropic.com",
    auth: { scheme: "x-api-key", tokenEnv: "ANTHROPIC_API_KEY" },
    keyEnv: "ANTHROPIC_API_KEY",
  },
};
