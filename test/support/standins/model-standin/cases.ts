// The cases every real agent program must pass in a bottle, whatever its provider: the
// allowlist seen from its shell tool, the key it never holds, a host asked for through
// supervise and approved from the host, and a push through git-gate.
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithEngine } from "../../docker/engine.js";
import {
  type AgentRunResult,
  type AgentSetup,
  HOSTS,
  PLACEHOLDER_KEY,
  runRealAgent,
  TURNS,
} from "./agent-run.js";
import { type ModelRequest, type Provider, toolResultOf, turnRequests } from "./standin.js";

/** One real agent program against its stand-in: how to run it and what its protocol looks like. */
export interface RealAgentSuite {
  title: string;
  setup: AgentSetup;
  /** The stand-in's name for the protocol the program must speak. */
  provider: Provider;
  /** What a scripted turn's request must look like ("Messages with streaming"…). */
  protocol: { name: string; matches: (turn: ModelRequest) => boolean };
  /** The header the real key must arrive in, and its value for a key. */
  keyHeader: { name: string; value: (key: string) => string };
  /** The variable holding the placeholder in the agent's environment. */
  placeholderEnv: string;
  /** The program exited well and printed the script's final answer. */
  expectFinished: (result: AgentRunResult) => void;
}

/** The whole suite for one program: one real run in a bottle, then every claim about it. */
export function describeRealAgent(suite: RealAgentSuite): void {
  describeWithEngine(suite.title, () => {
    let result: AgentRunResult;

    beforeAll(async () => {
      result = await runRealAgent(suite.setup);
    }, 900_000);

    afterAll(() => {
      expect(result?.leftovers ?? []).toEqual([]);
    });

    it("finishes the script and prints the final answer", () => {
      expect(result.agent.code, result.agent.stderr).toBe(0);
      suite.expectFinished(result);
      expect(result.cli.code).toBe(0);
    });

    it(`spoke ${suite.protocol.name} to the stand-in`, () => {
      const turns = turnRequests(result.requests);
      expect(turns.every((r) => r.provider === suite.provider && suite.protocol.matches(r))).toBe(
        true,
      );
      // One request per scripted turn, the last one answered with the final text.
      expect(turns.map((r) => r.reply.turnIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      // Every turn found the tool it meant among the tools the program declared.
      expect(result.requests.filter((r) => r.reply.kind === "error")).toEqual([]);
    });

    it(`holds the placeholder; every model request arrived with the real key in ${suite.keyHeader.name}`, () => {
      const model = result.requests.filter((r) => r.provider === suite.provider);
      expect(model.length).toBeGreaterThan(0);
      for (const r of model) {
        expect(r.host).toBe(HOSTS.model);
        expect(r.headers[suite.keyHeader.name]).toBe(suite.keyHeader.value(result.key));
        if (suite.keyHeader.name !== "authorization") {
          expect(r.headers.authorization).toBeUndefined();
        }
      }
      expect(toolResultOf(result.requests, TURNS.env)).toContain(
        `${suite.placeholderEnv}=${PLACEHOLDER_KEY}`,
      );
    });

    expectCommonCases(() => result);
  });
}

export function expectCommonCases(run: () => AgentRunResult): void {
  it("(a) reaches the allowlisted host: its shell tool saw 200 and the stand-in the request", () => {
    const r = run();
    const seen = toolResultOf(r.requests, TURNS.allowed);
    expect(seen).toContain('"ok":true');
    expect(seen).toContain("HTTP:200");
    expect(r.requests.some((q) => q.host === HOSTS.allowed && q.path === "/hello")).toBe(true);
  });

  it("(a) is refused the unlisted host, and the tool result it sent back says why", () => {
    const r = run();
    const seen = toolResultOf(r.requests, TURNS.unlisted);
    expect(seen).toContain("HTTP:403");
    expect(seen).toContain(HOSTS.unlisted);
    expect(seen.toLowerCase()).toMatch(/allow|not permitted|blocked|refus|denied/);
    // Nothing addressed to the unlisted host got out, in any form.
    expect(r.requests.filter((q) => q.host?.startsWith(HOSTS.unlisted))).toEqual([]);
  });

  it("(b) never holds the real key: not in its env, its tool results, or its output", () => {
    const r = run();
    const env = toolResultOf(r.requests, TURNS.env);
    expect(env).toMatch(/HTTPS_PROXY=/);
    const allResults = Object.values(TURNS)
      .map((i) => toolResultOf(r.requests, i))
      .join("\n");
    for (const text of [allResults, r.agent.stdout, r.agent.stderr, r.cli.stdout, r.cli.stderr]) {
      expect(text).not.toContain(r.key);
      expect(text).not.toContain(Buffer.from(r.key).toString("base64").slice(0, 24));
      expect(text).not.toContain(Buffer.from(r.key).toString("hex"));
    }
    // Every request body the agent sent (its whole conversation) is free of the key too.
    for (const q of r.requests) expect(JSON.stringify(q.body ?? "")).not.toContain(r.key);
  });

  it("(c) asks for a host through supervise; the approval lets its retry through", () => {
    const r = run();
    expect(r.approved?.host).toBe(HOSTS.later);
    expect(toolResultOf(r.requests, TURNS.ask).toLowerCase()).toContain("approved");
    const retry = toolResultOf(r.requests, TURNS.retry);
    expect(retry).toContain("HTTP:200");
    expect(r.requests.some((q) => q.host === HOSTS.later && q.path === "/status")).toBe(true);
  });

  it("(d) pushes a commit through git-gate to the upstream", () => {
    const r = run();
    expect(toolResultOf(r.requests, TURNS.push)).toContain("PUSH-EXIT:0");
    expect(r.upstreamLog).toContain(r.pushMarker);
  });
}
