// The real Claude Code, headless in a real bottle, driven by the stand-in Anthropic Messages
// API (streaming SSE) behind a route. Every claim is read from what the stand-ins received:
// the tool results Claude Code sent back in its next request, the key on every model
// request, the commit that reached the git upstream.
import { expect } from "vitest";
import { HOSTS, PLACEHOLDER_KEY, PROMPT } from "../support/standins/model-standin/agent-run.js";
import { describeRealAgent } from "../support/standins/model-standin/cases.js";

describeRealAgent({
  title: "real Claude Code in a bottle, against the stand-in model API",
  setup: {
    program: "claude",
    env: {
      ANTHROPIC_BASE_URL: `https://${HOSTS.model}`,
      ANTHROPIC_API_KEY: PLACEHOLDER_KEY,
      // MCP tools declared in full from the first request, not deferred behind ToolSearch
      // (which the stand-in does not play: it would have to answer a tool search first).
      ENABLE_TOOL_SEARCH: "false",
    },
    routeAuth: "{ scheme: x-api-key, token_env: CB_MODEL_KEY }",
    prepare: "true",
    command: `claude -p '${PROMPT}' --dangerously-skip-permissions --output-format json`,
  },
  provider: "anthropic",
  protocol: { name: "Messages with streaming", matches: (r) => r.body?.stream === true },
  keyHeader: { name: "x-api-key", value: (key) => key },
  placeholderEnv: "ANTHROPIC_API_KEY",
  expectFinished: (result) => {
    const out = JSON.parse(result.agent.stdout) as { result?: string; is_error?: boolean };
    expect(out.is_error).toBe(false);
    expect(out.result).toBe("All steps done.");
  },
});
