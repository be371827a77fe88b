// Codex: a static (musl) binary under vendor/<triple>/ of the platform build of
// @openai/codex, published as version "<version>-linux-<arch>". Reads CODEX_CA_CERTIFICATE
// (or SSL_CERT_FILE), its MCP servers from ~/.codex/config.toml and its prompt from
// ~/.codex/AGENTS.md.
import type { AgentHomeFile, AgentProviderModule, HostArch } from "./agent-provider.js";

const PINNED = "0.171.0";
const PINNED_INTEGRITY: Record<HostArch, string> = {
  x64: "sha512-l66NZkQgdk2C3pbcfULDz42yEUB581MVA6I+Y43Wp4OIqEy73HCdmZ0GTjeAHY2ycuH4N00d9VsLrwT1jxshTw==",
  arm64:
    "sha512-9z17t4bbUJ9UCIb49O4PoA+ki+45q3rd8nZ8PeH6sYnlKkBld/Xpo/OS3h3Ti954+foshX4o7k5TCU8N7zzqQA==",
};
const TRIPLE: Record<HostArch, string> = {
  x64: "x86_64-unknown-linux-musl",
  arm64: "aarch64-unknown-linux-musl",
};

/** A TOML basic string: JSON's escapes are all valid TOML escapes. */
function tomlString(text: string): string {
  return JSON.stringify(text);
}

export const codexProvider: AgentProviderModule = {
  name: "codex",
  title: "Codex",
  command: "codex",
  defaultVersion: PINNED,
  packageFor(version, arch) {
    return {
      spec: `@openai/codex@${version}-linux-${arch}`,
      binary: `vendor/${TRIPLE[arch]}/bin/codex`,
      interpreter: null,
      // Codex's npm launcher puts its bundled ripgrep on PATH; so does the bottle's wrapper.
      pathDirs: [`vendor/${TRIPLE[arch]}/codex-path`],
      ...(version === PINNED ? { integrity: PINNED_INTEGRITY[arch] } : {}),
    };
  },
  environment(paths) {
    // The system bundle with the bottle's CAs: Codex may replace its roots with this file.
    return { CODEX_CA_CERTIFICATE: paths.caBundle };
  },
  homeFiles({ prompt, supervise, literalEnv }) {
    const lines = [
      "# Written by claude-bottle when the bottle started.",
      // The package is mounted read-only and pinned by the manifest.
      "check_for_update_on_startup = false",
    ];
    if (supervise !== null) {
      lines.push(
        "",
        `[mcp_servers.${supervise.name}]`,
        `url = ${tomlString(supervise.url)}`,
        `tool_timeout_sec = ${supervise.toolTimeoutSeconds}`,
      );
    }
    const files: AgentHomeFile[] = [
      { path: ".codex/AGENTS.md", mode: "644", content: prompt },
      { path: ".codex/config.toml", mode: "600", content: `${lines.join("\n")}\n` },
    ];
    // Codex reads an API key from its login file; the bottle's value is a placeholder that
    // egress replaces, so writing it keeps no secret. A forwarded key is never written.
    const key = literalEnv.OPENAI_API_KEY;
    if (key !== undefined) {
      files.push({
        path: ".codex/auth.json",
        mode: "600",
        content: `${JSON.stringify({ OPENAI_API_KEY: key }, null, 2)}\n`,
      });
    }
    return files;
  },
  skillsDir: ".codex/skills",
  interactiveArgs: ["--dangerously-bypass-approvals-and-sandbox"],
  headlessArgs: (prompt) => [
    "exec",
    "--dangerously-bypass-approvals-and-sandbox",
    "--skip-git-repo-check",
    prompt,
  ],
  modelApi: {
    host: "api.openai.com",
    auth: { scheme: "Bearer", tokenEnv: "OPENAI_API_KEY" },
    keyEnv: "OPENAI_API_KEY",
  },
};
