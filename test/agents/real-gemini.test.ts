// The real Gemini CLI, headless in a real bottle, driven by the stand-in Gemini API
// (streamGenerateContent over SSE) behind a route whose key goes in x-goog-api-key.
// GOOGLE_GEMINI_BASE_URL points it at the stand-in; the settings.json the bottle wrote
// selects the API-key login (the base URL alone would select a "gateway" login headless
// mode refuses) and registers supervise. GEMINI_CLI_TRUST_WORKSPACE keeps --yolo in force
// in the untrusted ~/work.
import { expect } from "vitest";
import { HOSTS, PLACEHOLDER_KEY, PROMPT } from "../support/standins/model-standin/agent-run.js";
import { describeRealAgent } from "../support/standins/model-standin/cases.js";

describeRealAgent({
  title: "real Gemini CLI in a bottle, against the stand-in Gemini API",
  setup: {
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
  },
  provider: "gemini",
  protocol: {
    name: "streamGenerateContent over SSE",
    matches: (r) => r.path.endsWith(":streamGenerateContent") && r.query === "?alt=sse",
  },
  keyHeader: { name: "x-goog-api-key", value: (key) => key },
  placeholderEnv: "GEMINI_API_KEY",
  expectFinished: (result) => {
    expect(result.agent.stdout.trim().split("\n").at(-1)).toBe("All steps done.");
  },
});
