// Gemini CLI: one JavaScript bundle with no dependencies (@google/gemini-cli, bin
// bundle/gemini.js, Node >= 20), the same for every architecture. Reads
// NODE_EXTRA_CA_CERTS, its MCP servers and settings from ~/.gemini/settings.json and its
// prompt from ~/.gemini/GEMINI.md.
import type { AgentProviderModule } from "./agent-provider.js";

const PINNED = "0.61.0";
const PINNED_INTEGRITY =
  "sha512-dbQ9A0qBtFJNi6XBkHvfZ6Azpn6PNgH/P8h2MZ67RLlX8hSAVjup39CRWqdRxZv7YXIuhrFaytr8y0jKnkoxnQ==";

export const geminiProvider: AgentProviderModule = {
  name: "gemini",
  title: "Gemini CLI",
  command: "gemini",
  defaultVersion: PINNED,
  packageFor(version) {
    return {
      spec: `@google/gemini-cli@${version}`,
      binary: "bundle/gemini.js",
      interpreter: "node",
      pathDirs: [],
      ...(version === PINNED ? { integrity: PINNED_INTEGRITY } : {}),
    };
  },
  environment() {
    return {};
  },
  homeFiles({ prompt, supervise }) {
    const settings: Record<string, unknown> = {
      // The key comes from GEMINI_API_KEY (a placeholder egress replaces): no login dialog.
      security: { auth: { selectedType: "gemini-api-key" } },
      // The package is mounted read-only and pinned by the manifest.
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
      // Usage statistics go to a host the bottle does not allow.
      privacy: { usageStatisticsEnabled: false },
    };
    if (supervise !== null) {
      settings.mcpServers = {
        [supervise.name]: {
          httpUrl: supervise.url,
          timeout: supervise.toolTimeoutSeconds * 1000,
          // Asking a human is what the tool is for: no confirmation before each call.
          trust: true,
        },
      };
    }
    return [
      { path: ".gemini/GEMINI.md", mode: "644", content: prompt },
      {
        path: ".gemini/settings.json",
        mode: "600",
        content: `${JSON.stringify(settings, null, 2)}\n`,
      },
    ];
  },
  skillsDir: ".gemini/skills",
  interactiveArgs: ["--yolo"],
  headlessArgs: (prompt) => ["--yolo", "-p", prompt],
  modelApi: {
    host: "generativelanguage.googleapis.com",
    auth: { scheme: "header", header: "x-goog-api-key", tokenEnv: "GEMINI_API_KEY" },
    keyEnv: "GEMINI_API_KEY",
  },
};
