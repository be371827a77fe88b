// Codex: a static (musl) binary under vendor/<triple>/ of the platform build of
// @openai/codex, published as version "<version>-linux-<arch>". Reads CODEX_CA_CERTIFICATE
// (or SSL_CERT_FILE), its MCP servers from ~/.codex/config.toml and its prompt from
// ~/.codex/AGENTS.md.
//
// This version ignores OPENAI_BASE_URL, and its built-in provider shows a sign-in screen
// unless auth.json says "apikey". So config.toml declares a provider of the bottle's own:
// the model API (OPENAI_BASE_URL from the bottle's env, else api.openai.com) with the key
// from OPENAI_API_KEY (the placeholder egress replaces), over HTTPS and SSE. The rest of
// the file answers the first-run questions and switches off what calls hosts the bottle
// does not allow, so an interactive start reaches the prompt with no keypress.
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

const OPENAI_HOST = "api.openai.com";
/** The model provider config.toml declares for the bottle. */
export const BOTTLE_PROVIDER = "bottle";

/** A TOML basic string: JSON's escapes are all valid TOML escapes. */
function tomlString(text: string): string {
  return JSON.stringify(text);
}

export const codexProvider: AgentProviderModule = {
  name: "codex",
  title: "Codex",
  command: "codex",
  defaultVersion: PINNED,
  provenVersions: [PINNED],
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
  homeFiles({ prompt, supervise, literalEnv, workDir }) {
    const baseUrl = literalEnv.OPENAI_BASE_URL ?? `https://${OPENAI_HOST}/v1`;
    const lines = [
      "# Written by claude-bottle when the bottle started.",
      `model_provider = ${tomlString(BOTTLE_PROVIDER)}`,
      // The package is mounted read-only and pinned by the manifest.
      "check_for_update_on_startup = false",
      "",
      `[model_providers.${BOTTLE_PROVIDER}]`,
      `name = "OpenAI through the bottle"`,
      `base_url = ${tomlString(baseUrl)}`,
      `env_key = "OPENAI_API_KEY"`,
      `wire_api = "responses"`,
      // Codex's default transport, the Responses API over a WebSocket: egress relays the
      // upgrade with the key injected and scrubs every frame back. Said explicitly, so a
      // Codex that changed its default would not silently fall back to HTTPS.
      "supports_websockets = true",
      "",
      // Usage analytics go to ab.chatgpt.com, which the bottle does not allow.
      "[analytics]",
      "enabled = false",
      "",
      "[features]",
      // Plugin sync calls github.com and chatgpt.com at every start.
      "plugins = false",
      // Else the first start installs about 425 MB under ~/.codex/packages and leaves two
      // background processes behind.
      "daemon_auto_start = false",
      "",
      // ~/work is a git repository: else the folder-trust screen at every start.
      `[projects.${tomlString(workDir)}]`,
      `trust_level = "trusted"`,
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
    // The login file, for a user who picks the built-in provider again: the bottle's value
    // is a placeholder that egress replaces, so writing it keeps no secret. A forwarded key
    // is never written.
    const key = literalEnv.OPENAI_API_KEY;
    if (key !== undefined) {
      files.push({
        path: ".codex/auth.json",
        mode: "600",
        content: `${JSON.stringify({ auth_mode: "apikey", OPENAI_API_KEY: key }, null, 2)}\n`,
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
    host: OPENAI_HOST,
    auth: { scheme: "Bearer", tokenEnv: "OPENAI_API_KEY" },
    keyEnv: "OPENAI_API_KEY",
  },
};
