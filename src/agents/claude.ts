// Claude Code: a native binary in @anthropic-ai/claude-code-linux-<arch>. Reads
// NODE_EXTRA_CA_CERTS, its MCP servers and first-run choices from ~/.claude.json, its
// settings from ~/.claude/settings.json and its prompt from ~/.claude/CLAUDE.md.
//
// Every bottle has a fresh home, so the home is seeded with the first-run choices made:
// an interactive start reaches the prompt with no keypress. That also switches off the
// first-run reachability check (api.anthropic.com/api/hello, platform.claude.com), which
// no variable skips and which makes Claude Code exit when the bottle does not allow
// platform.claude.com: the bottle allows only the model's API, and a completed onboarding
// never makes the check.
import type { AgentProviderModule, HostArch } from "./agent-provider.js";

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
  provenVersions: [PINNED],
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
      // Without it, a first start still downloads the plugin marketplace (a git clone).
      CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: "1",
      // A supervise call that waits for a human must outlive supervise's own timeout.
      ...(supervise === null
        ? {}
        : { MCP_TOOL_TIMEOUT: String(supervise.toolTimeoutSeconds * 1000) }),
    };
  },
  homeFiles({ prompt, supervise, literalEnv, workDir }) {
    return [
      { path: ".claude/CLAUDE.md", mode: "644", content: prompt },
      {
        path: ".claude.json",
        mode: "600",
        content: `${JSON.stringify(claudeState(literalEnv, workDir, supervise), null, 2)}\n`,
      },
      {
        path: ".claude/settings.json",
        mode: "600",
        // The bottle is the sandbox: the bypass-permissions warning is acknowledged.
        content: `${JSON.stringify({ skipDangerousModePermissionPrompt: true }, null, 2)}\n`,
      },
    ];
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

/**
 * ~/.claude.json: onboarding done, the work directory trusted, the bottle's placeholder
 * key approved, supervise registered. Claude Code remembers an approved key by its last
 * 20 characters; only a literal (the placeholder egress replaces) is ever approved here,
 * never a forwarded value. A subscription token (CLAUDE_CODE_OAUTH_TOKEN) needs no approval.
 */
export function claudeState(
  literalEnv: Readonly<Record<string, string>>,
  workDir: string,
  supervise: { name: string; url: string } | null,
): Record<string, unknown> {
  const key = literalEnv.ANTHROPIC_API_KEY;
  return {
    hasCompletedOnboarding: true,
    ...(key === undefined || key === ""
      ? {}
      : { customApiKeyResponses: { approved: [key.slice(-20)], rejected: [] } }),
    projects: { [workDir]: { hasTrustDialogAccepted: true } },
    ...(supervise === null
      ? {}
      : { mcpServers: { [supervise.name]: { type: "http", url: supervise.url } } }),
  };
}
