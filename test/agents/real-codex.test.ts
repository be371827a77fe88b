// The real Codex CLI (`codex exec`), headless in a real bottle, driven by the stand-in OpenAI
// Responses API (streaming SSE) behind a route. Codex is pointed at the stand-in by a model
// provider of its own added to ~/.codex/config.toml (a custom provider speaks HTTP and SSE,
// never the Responses WebSocket); the bottle's own entry there registers supervise.
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  type AgentRunResult,
  HOSTS,
  PLACEHOLDER_KEY,
  PROMPT,
  runRealAgent,
  TURNS,
  writeFileCommand,
} from "../support/standins/model-standin/agent-run.js";
import { expectCommonCases } from "../support/standins/model-standin/cases.js";
import { toolResultOf, turnRequests } from "../support/standins/model-standin/standin.js";

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

describeWithEngine("real Codex in a bottle, against the stand-in Responses API", () => {
  let result: AgentRunResult;

  beforeAll(async () => {
    result = await runRealAgent({
      program: "codex",
      env: { OPENAI_API_KEY: PLACEHOLDER_KEY },
      routeAuth: "{ scheme: Bearer, token_env: CB_MODEL_KEY }",
      prepare: PREPARE,
      command: `codex exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox '${PROMPT}'`,
    });
  }, 900_000);

  afterAll(() => {
    expect(result?.leftovers ?? []).toEqual([]);
  });

  it("finishes the script and prints the final answer", () => {
    expect(result.agent.code, result.agent.stderr).toBe(0);
    expect(result.agent.stdout.trim().split("\n").at(-1)).toBe("All steps done.");
    expect(result.cli.code).toBe(0);
  });

  it("spoke Responses with streaming to the stand-in", () => {
    const turns = turnRequests(result.requests);
    expect(turns.every((r) => r.provider === "openai" && r.body?.stream === true)).toBe(true);
    expect(turns.map((r) => r.reply.turnIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(result.requests.filter((r) => r.reply.kind === "error")).toEqual([]);
  });

  it("holds the placeholder; every model request arrived with the real key as Bearer", () => {
    const model = result.requests.filter((r) => r.provider === "openai");
    expect(model.length).toBeGreaterThan(0);
    for (const r of model) {
      expect(r.host).toBe(HOSTS.model);
      expect(r.headers.authorization).toBe(`Bearer ${result.key}`);
    }
    expect(toolResultOf(result.requests, TURNS.env)).toContain(`OPENAI_API_KEY=${PLACEHOLDER_KEY}`);
  });

  expectCommonCases(() => result);
});
