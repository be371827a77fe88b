// The real Codex CLI (`codex exec`), headless in a real bottle, driven by the stand-in OpenAI
// Responses API (streaming SSE) behind a route. Codex is pointed at the stand-in by a model
// provider of its own added to ~/.codex/config.toml (a custom provider speaks HTTP and SSE,
// never the Responses WebSocket); the bottle's own entry there registers supervise.
import { expect } from "vitest";
import {
  HOSTS,
  PLACEHOLDER_KEY,
  PROMPT,
  writeFileCommand,
} from "../support/standins/model-standin/agent-run.js";
import { describeRealAgent } from "../support/standins/model-standin/cases.js";

// Added around the config.toml the bottle wrote (which registers supervise): top-level keys
// must come before its tables, the provider's table after them.
const TOP = `model = "gpt-5-codex"
model_provider = "standin"
`;
const PROVIDER = `
[model_providers.standin]
name = "standin"
base_url = "https://${HOSTS.model}/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
`;
const PREPARE = [
  writeFileCommand("/tmp/codex-top.toml", TOP),
  writeFileCommand("/tmp/codex-provider.toml", PROVIDER),
  "grep -q '^\\[mcp_servers.supervise\\]' ~/.codex/config.toml",
  "cat /tmp/codex-top.toml ~/.codex/config.toml /tmp/codex-provider.toml >/tmp/codex-config.toml",
  "cp /tmp/codex-config.toml ~/.codex/config.toml",
].join(" && ");

describeRealAgent({
  title: "real Codex in a bottle, against the stand-in Responses API",
  setup: {
    program: "codex",
    env: { OPENAI_API_KEY: PLACEHOLDER_KEY },
    routeAuth: "{ scheme: Bearer, token_env: CB_MODEL_KEY }",
    prepare: PREPARE,
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
