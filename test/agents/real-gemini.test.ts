// The real Gemini CLI, headless in a real bottle, driven by the stand-in Gemini API
// (streamGenerateContent over SSE) behind a route whose key goes in x-goog-api-key.
// GOOGLE_GEMINI_BASE_URL points it at the stand-in; the settings.json the bottle wrote
// selects the API-key login (the base URL alone would select a "gateway" login headless
// mode refuses) and registers supervise. GEMINI_CLI_TRUST_WORKSPACE keeps --yolo in force
// in the untrusted ~/work.
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

describeWithEngine("real Gemini CLI in a bottle, against the stand-in Gemini API", () => {
  let result: AgentRunResult;

  beforeAll(async () => {
    result = await runRealAgent({
      program: "gemini",
      env: {
        GOOGLE_GEMINI_BASE_URL: `https://${HOSTS.model}`,
        GEMINI_API_KEY: PLACEHOLDER_KEY,
        GEMINI_CLI_TRUST_WORKSPACE: "true",
      },
      routeAuth: "{ header: x-goog-api-key, token_env: CB_MODEL_KEY }",
      prepare: "grep -q '\"gemini-api-key\"' ~/.gemini/settings.json",
      command: `gemini --yolo -p '${PROMPT}'`,
      // Gemini CLI 0.61 runs every shell command with its "safe git" environment:
      // GIT_CONFIG_GLOBAL=/dev/null (so the bottle's ~/.gitconfig rewrite of the remote to
      // git-gate is not read) and core.sshCommand="" (so git "cannot run" ssh at all). A
      // plain clone fails; the scripted model drops those variables first, as a model
      // would after seeing the error. The push still has only one way out: the gate.
      gitPrefix: "unset GIT_CONFIG_GLOBAL GIT_CONFIG_SYSTEM GIT_CONFIG_NOSYSTEM GIT_CONFIG_COUNT; ",
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

  it("spoke streamGenerateContent over SSE to the stand-in", () => {
    const turns = turnRequests(result.requests);
    expect(
      turns.every(
        (r) =>
          r.provider === "gemini" &&
          r.path.endsWith(":streamGenerateContent") &&
          r.query === "?alt=sse",
      ),
    ).toBe(true);
    expect(turns.map((r) => r.reply.turnIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(result.requests.filter((r) => r.reply.kind === "error")).toEqual([]);
  });

  it("holds the placeholder; every model request arrived with the real key in x-goog-api-key", () => {
    const model = result.requests.filter((r) => r.provider === "gemini");
    expect(model.length).toBeGreaterThan(0);
    for (const r of model) {
      expect(r.host).toBe(HOSTS.model);
      expect(r.headers["x-goog-api-key"]).toBe(result.key);
      expect(r.headers.authorization).toBeUndefined();
    }
    expect(toolResultOf(result.requests, TURNS.env)).toContain(`GEMINI_API_KEY=${PLACEHOLDER_KEY}`);
  });

  expectCommonCases(() => result);
});
