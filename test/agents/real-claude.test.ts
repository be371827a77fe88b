// The real Claude Code, headless in a real bottle, driven by the stand-in Anthropic Messages
// API (streaming SSE) behind a route. Every claim is read from what the stand-ins received:
// the tool results Claude Code sent back in its next request, the key on every model
// request, the commit that reached the git upstream.
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  type AgentRunResult,
  HOSTS,
  PLACEHOLDER_KEY,
  PROMPT,
  runRealAgent,
  TURNS,
} from "../support/standins/model-standin/agent-run.js";
import { expectCommonCases } from "../support/standins/model-standin/cases.js";
import { toolResultOf, turnRequests } from "../support/standins/model-standin/standin.js";

describeWithEngine("real Claude Code in a bottle, against the stand-in model API", () => {
  let result: AgentRunResult;

  beforeAll(async () => {
    result = await runRealAgent({
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
    });
  }, 900_000);

  afterAll(() => {
    expect(result?.leftovers ?? []).toEqual([]);
  });

  it("finishes the script and reports the final answer", () => {
    expect(result.agent.code, result.agent.stderr).toBe(0);
    const out = JSON.parse(result.agent.stdout) as { result?: string; is_error?: boolean };
    expect(out.is_error).toBe(false);
    expect(out.result).toBe("All steps done.");
    expect(result.cli.code).toBe(0);
  });

  it("spoke Messages with streaming to the stand-in", () => {
    const turns = turnRequests(result.requests);
    expect(turns.every((r) => r.provider === "anthropic" && r.body?.stream === true)).toBe(true);
    // One request per scripted turn, the last one answered with the final text.
    expect(turns.map((r) => r.reply.turnIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Every turn found the tool it meant among the tools Claude Code declared.
    expect(result.requests.filter((r) => r.reply.kind === "error")).toEqual([]);
  });

  it("holds the placeholder; every model request arrived with the real key in x-api-key", () => {
    const model = result.requests.filter((r) => r.provider === "anthropic");
    expect(model.length).toBeGreaterThan(0);
    for (const r of model) {
      expect(r.host).toBe(HOSTS.model);
      expect(r.headers["x-api-key"]).toBe(result.key);
      expect(r.headers.authorization).toBeUndefined();
    }
    expect(toolResultOf(result.requests, TURNS.env)).toContain(
      `ANTHROPIC_API_KEY=${PLACEHOLDER_KEY}`,
    );
  });

  expectCommonCases(() => result);
});
