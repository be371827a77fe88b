// Each real agent program, started interactively as a person starts it: `claude-bottle start
// <agent>` with the shipped example manifests, in a terminal, typing only the task. No
// first-run dialog may appear; a tool turn runs a shell command in the bottle; the model
// host receives the real credential while the agent holds only the placeholder; the session
// ends cleanly with the program's own exit command and leaves nothing behind.
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  FINAL_ANSWER,
  type InteractiveResult,
  type InteractiveSetup,
  REFUSED_HOST,
  runInteractiveAgent,
  SHELL_MARK,
} from "../support/standins/model-standin/interactive-run.js";
import { toolResultOf, turnRequests } from "../support/standins/model-standin/standin.js";

/** The placeholders the shipped bottles give the agent. */
const PLACEHOLDER_KEY = "placeholder-egress-injects-the-real-key";
const PLACEHOLDER_TOKEN = "placeholder-egress-injects-the-real-token";

/** What a first-run dialog or a failed first-run check puts on the screen, by program. */
const DIALOGS: RegExp[] = [
  // Claude Code
  /Choose the text style/i,
  /Do you want to use this API key/i,
  /Security notes/i,
  /Do you trust the files in this folder/i,
  /trust this folder/i,
  /Yes, I accept/i,
  /No, exit/i,
  /Select login method/i,
  /Unable to connect to Anthropic services/i,
  // Codex
  /Sign in with ChatGPT/i,
  /Provide your own API key/i,
  /allow Codex to work in this folder/i,
  /Do you trust the contents of this directory/i,
  /falling back/i,
  // Gemini CLI
  /Do you trust/i,
  /Trust folder/i,
  /Get started/i,
  /How would you like to authenticate/i,
  /Login with Google/i,
];

interface Case extends InteractiveSetup {
  placeholder: string;
  /** The credential as the model host must receive it. */
  header: { name: string; value: (secret: string) => string };
}

const CASES: Case[] = [
  {
    agent: "claude",
    provider: "claude",
    modelHost: "api.anthropic.com",
    secretEnv: "ANTHROPIC_API_KEY",
    placeholderEnv: "ANTHROPIC_API_KEY",
    placeholder: PLACEHOLDER_KEY,
    header: { name: "x-api-key", value: (s) => s },
    ready: /❯[^\n]*\n[\s\S]*bypass permissions on/,
    exitCommand: "/exit",
  },
  {
    agent: "claude-subscription",
    provider: "claude",
    modelHost: "api.anthropic.com",
    secretEnv: "CLAUDE_CODE_OAUTH_TOKEN",
    placeholderEnv: "CLAUDE_CODE_OAUTH_TOKEN",
    placeholder: PLACEHOLDER_TOKEN,
    header: { name: "authorization", value: (s) => `Bearer ${s}` },
    ready: /❯[^\n]*\n[\s\S]*bypass permissions on/,
    exitCommand: "/exit",
  },
  {
    agent: "codex",
    provider: "codex",
    modelHost: "api.openai.com",
    secretEnv: "OPENAI_API_KEY",
    placeholderEnv: "OPENAI_API_KEY",
    placeholder: PLACEHOLDER_KEY,
    header: { name: "authorization", value: (s) => `Bearer ${s}` },
    // The header is drawn once the start-up animation is over.
    ready: /OpenAI Codex \(v[\s\S]*Ask Codex to do anything[\s\S]*for shortcuts/,
    exitCommand: "/quit",
  },
  {
    agent: "gemini",
    provider: "gemini",
    modelHost: "generativelanguage.googleapis.com",
    secretEnv: "GEMINI_API_KEY",
    placeholderEnv: "GEMINI_API_KEY",
    placeholder: PLACEHOLDER_KEY,
    header: { name: "x-goog-api-key", value: (s) => s },
    // The banner is drawn by the program it restarts itself as: typing before it is lost.
    ready: /Authenticated with gemini-api-key[\s\S]*Type your message/,
    exitCommand: "/quit",
  },
];

const only = process.env.CB_INTERACTIVE_ONLY;

for (const c of CASES.filter((x) => only === undefined || x.agent === only)) {
  describeWithEngine(`\`claude-bottle start ${c.agent}\` in a terminal, as shipped`, () => {
    let result: InteractiveResult;

    beforeAll(async () => {
      result = await runInteractiveAgent(c);
    }, 1_200_000);

    afterAll(() => {
      expect(result?.leftovers ?? []).toEqual([]);
    });

    it("reaches the prompt with no keypress: no first-run dialog on any screen", () => {
      expect(c.ready.test(result.startScreens.at(-1) ?? "")).toBe(true);
      for (const screen of result.startScreens) {
        for (const dialog of DIALOGS) expect(screen, `${dialog}`).not.toMatch(dialog);
      }
    });

    it("runs the scripted shell command in the bottle, as the agent user, and shows the answer", () => {
      const turns = turnRequests(result.requests);
      expect(turns.map((r) => r.reply.turnIndex)).toEqual([0, 1]);
      const seen = toolResultOf(result.requests, 0);
      expect(seen).toContain(SHELL_MARK);
      expect(seen).toMatch(/^agent$/m);
      // The bottle's firewall answered for the host it does not allow.
      expect(seen).toContain("REFUSED-HTTP:403");
      expect(result.requests.some((r) => r.host === REFUSED_HOST)).toBe(false);
      expect(result.answerScreen).toContain(FINAL_ANSWER);
      expect(result.requests.filter((r) => r.reply.kind === "error")).toEqual([]);
    });

    it(`the model host received the real credential in ${c.header.name}; the agent held only the placeholder`, () => {
      const model = result.requests.filter((r) => r.provider !== null);
      expect(model.length).toBeGreaterThan(0);
      for (const r of model) {
        expect(r.host).toBe(c.modelHost);
        expect(r.headers[c.header.name]).toBe(c.header.value(result.secret));
      }
      // What every process in the agent holds under that name: the placeholder, only.
      const held = toolResultOf(result.requests, 0)
        .split("\n")
        .filter((line) => line.startsWith(`${c.placeholderEnv}=`));
      expect(held).toEqual([`${c.placeholderEnv}=${c.placeholder}`]);
      for (const screen of [...result.startScreens, result.answerScreen, result.endScreen]) {
        expect(screen).not.toContain(result.secret);
      }
      for (const r of result.requests)
        expect(JSON.stringify(r.body ?? "")).not.toContain(result.secret);
    });

    if (c.provider === "codex") {
      // Codex's default transport, relayed by egress: every turn over the WebSocket, none
      // over HTTPS after a fallback (whose warning DIALOGS also looks for on screen).
      it("talks to the model over the Responses WebSocket, never falling back to HTTPS", () => {
        const turns = turnRequests(result.requests);
        expect(turns.length).toBeGreaterThan(0);
        for (const r of turns) expect((r as { transport?: string }).transport).toBe("websocket");
        const https = result.requests.filter((r) => r.provider !== null && r.method === "POST");
        expect(https).toEqual([]);
        for (const screen of [...result.startScreens, result.answerScreen]) {
          expect(screen).not.toMatch(/falling back|Reconnecting/i);
        }
      });
    }

    it("ends cleanly with the program's exit command: start exits 0 and the bottle is gone", () => {
      expect(result.cliExit, result.endScreen).toBe(0);
      expect(result.leftovers).toEqual([]);
    });
  });
}
