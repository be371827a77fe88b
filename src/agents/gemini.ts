// Gemini CLI: one JavaScript bundle with no dependencies (@google/gemini-cli, bin
// bundle/gemini.js, Node >= 20), the same for every architecture. Reads
// NODE_EXTRA_CA_CERTS, its MCP servers and settings from ~/.gemini/settings.json and its
// prompt from ~/.gemini/GEMINI.md. The seed answers its first-run questions (login type,
// folder trust) so an interactive start reaches the prompt with no keypress.
import type { AgentProviderModule } from "./agent-provider.js";

const PINNED = "0.61.0";
/** The model a bottle's Gemini CLI asks for (GEMINI_MODEL in the bottle's env overrides it). */
export const GEMINI_MODEL = "gemini-2.5-pro";
const PINNED_INTEGRITY =
  "sha512-dbQ9A0qBtFJNi6XBkHvfZ6Azpn6PNgH/P8h2MZ67RLlX8hSAVjup39CRWqdRxZv7YXIuhrFaytr8y0jKnkoxnQ==";

export const geminiProvider: AgentProviderModule = {
  name: "gemini",
  title: "Gemini CLI",
  command: "gemini",
  defaultVersion: PINNED,
  provenVersions: [PINNED],
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
  homeFiles({ prompt, supervise, workDir }) {
    const settings: Record<string, unknown> = {
      // The key comes from GEMINI_API_KEY (a placeholder egress replaces): no login dialog.
      security: { auth: { selectedType: "gemini-api-key" } },
      // The package is mounted read-only and pinned by the manifest.
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
      // Usage statistics go to a host the bottle does not allow.
      privacy: { usageStatisticsEnabled: false },
      // The default "Auto" model asks a small model to route each prompt first: one
      // model, one call per turn.
      model: { name: GEMINI_MODEL },
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
      {
        // Else "Do you trust the files in this folder?" on every start, and a restart.
        path: ".gemini/trustedFolders.json",
        mode: "600",
        content: `${JSON.stringify({ [workDir]: "TRUST_FOLDER" }, null, 2)}\n`,
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
