// The cases every real agent program must pass in a bottle, whatever its provider: the
// allowlist seen from its shell tool, the key it never holds, a host asked for through
// supervise and approved from the host, and a push through git-gate.
import { expect, it } from "vitest";
import { type AgentRunResult, HOSTS, TURNS } from "./agent-run.js";
import { toolResultOf } from "./standin.js";

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
