// The shipped example bottles and the first-run seed, together: each provider's bottle
// gives the agent a placeholder the seed approves, and the subscription bottle routes the
// OAuth token the way the API-key bottle routes the key.
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useUserHomes } from "../../test/support/fixtures/user-home-fixture.js";
import { loadAgent } from "../manifest/load-agent.js";
import { agentProviderModule } from "./registry.js";

const homes = useUserHomes();
const EXAMPLES = fileURLToPath(new URL("../../examples/manifests", import.meta.url));
const WORK = "/home/agent/work";

async function exampleAgent(name: string) {
  const options = await homes.make({});
  await cp(EXAMPLES, join(options.userHome, ".claude-bottle"), { recursive: true });
  return loadAgent(name, options);
}

function literals(env: Record<string, { kind: string; value?: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v.kind === "literal") out[k] = v.value ?? "";
  return out;
}

describe("the shipped example bottles", () => {
  it("claude: the seed approves exactly the placeholder the bottle gives the agent", async () => {
    const agent = await exampleAgent("claude");
    const env = literals(agent.bottle.env as Record<string, { kind: string; value?: string }>);
    const [, state] = agentProviderModule("claude").homeFiles({
      prompt: agent.prompt,
      supervise: null,
      literalEnv: env,
      workDir: WORK,
    });
    const approved = JSON.parse(state?.content ?? "").customApiKeyResponses.approved;
    expect(approved).toEqual([env.ANTHROPIC_API_KEY?.slice(-20)]);
    expect(approved[0]).toHaveLength(20);
  });

  it("claude-subscription: an OAuth placeholder in the agent, the real token as a Bearer on the model host only", async () => {
    const agent = await exampleAgent("claude-subscription");
    expect(agent.bottle.agent).toBe("claude");
    expect(agent.bottle.chain).toEqual(["base", "claude-subscription"]);
    expect(agent.bottle.egress.routes.map((r) => [r.host, r.auth])).toEqual([
      ["api.anthropic.com", { scheme: "Bearer", tokenEnv: "CLAUDE_CODE_OAUTH_TOKEN" }],
    ]);
    expect(agent.bottle.egress.allow.map((rule) => rule.pattern)).toEqual(["api.anthropic.com"]);
    const env = literals(agent.bottle.env as Record<string, { kind: string; value?: string }>);
    expect(env.CLAUDE_CODE_OAUTH_TOKEN).toBe("placeholder-egress-injects-the-real-token");
    // One credential per bottle: no key beside the token.
    expect(env.ANTHROPIC_API_KEY).toBeUndefined();
    const [, state] = agentProviderModule("claude").homeFiles({
      prompt: agent.prompt,
      supervise: null,
      literalEnv: env,
      workDir: WORK,
    });
    expect(JSON.parse(state?.content ?? "")).toEqual({
      hasCompletedOnboarding: true,
      projects: { [WORK]: { hasTrustDialogAccepted: true } },
    });
  });
});
