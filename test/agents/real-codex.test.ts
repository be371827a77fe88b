// The real Codex CLI (`codex exec`), headless in a real bottle, driven by the stand-in OpenAI
// Responses API behind a route. The bottle's ~/.codex/config.toml declares a model provider
// of its own at OPENAI_BASE_URL (WebSocket on, as shipped; the stand-in answers over either
// transport) and registers supervise; nothing is added to it here. The interactive test
// proves the WebSocket transport is the one used, with no fallback.
import { expect } from "vitest";
import { HOSTS, PLACEHOLDER_KEY, PROMPT } from "../support/standins/model-standin/agent-run.js";
import { describeRealAgent } from "../support/standins/model-standin/cases.js";

describeRealAgent({
  title: "real Codex in a bottle, against the stand-in Responses API",
  setup: {
    program: "codex",
    env: { OPENAI_API_KEY: PLACEHOLDER_KEY, OPENAI_BASE_URL: `https://${HOSTS.model}/v1` },
    routeAuth: "{ scheme: Bearer, token_env: CB_MODEL_KEY }",
    // A model whose tools are plain functions: with the default one Codex 0.171 nests the
    // MCP tools inside its code-mode tool, where the stand-in plays only the shell.
    prepare:
      "grep -q '^\\[mcp_servers.supervise\\]' ~/.codex/config.toml && " +
      "sed -i '1i model = \"gpt-5-codex\"' ~/.codex/config.toml",
    command: `codex exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox '${PROMPT}'`,
  },
  provider: "openai",
  protocol: { name: "Responses with streaming", matches: (r) => r.body?.stream === true },
  keyHeader: { name: "authorization", value: (key) => `Bearer ${key}` },
  placeholderEnv: "OPENAI_API_KEY",
  expectFinished: (result) => {
    expect(result.agent.stdout.trim().split("\n").at(-1)).toBe("All steps done.");
  },
});
