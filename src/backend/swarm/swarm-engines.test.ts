import { describe, expect, it } from "vitest";
import { BottleError } from "../../shared/errors.js";
import { parseServiceEvent } from "./swarm-backend.js";
import { chooseNode, EngineAt, type SwarmNode } from "./swarm-engines.js";

const node = (hostname: string, over: Partial<SwarmNode> = {}): SwarmNode => ({
  id: hostname,
  hostname,
  ready: true,
  engine: `ssh://me@${hostname}`,
  ...over,
});

describe("chooseNode", () => {
  it("takes the ready node with the fewest bottles", () => {
    const nodes = [node("a"), node("b"), node("c")];
    const load = new Map([
      ["a", 2],
      ["b", 0],
      ["c", 1],
    ]);
    expect(chooseNode(nodes, load, undefined).hostname).toBe("b");
  });

  it("spreads starts over the nodes that have equally few bottles", () => {
    const nodes = [node("a"), node("b"), node("c")];
    const load = new Map([["c", 1]]);
    expect(chooseNode(nodes, load, undefined, () => 0).hostname).toBe("a");
    expect(chooseNode(nodes, load, undefined, () => 0.99).hostname).toBe("b");
  });

  it("passes over a node that is down or says nothing of its engine", () => {
    const nodes = [node("a", { ready: false }), node("b", { engine: null }), node("c")];
    expect(chooseNode(nodes, new Map([["c", 9]]), undefined).hostname).toBe("c");
  });

  it("refuses when no node can run bottles, saying why for each and how to fix it", () => {
    const nodes = [node("a", { engine: null })];
    expect(() => chooseNode(nodes, new Map(), undefined)).toThrow(BottleError);
    try {
      chooseNode(nodes, new Map(), undefined);
    } catch (e) {
      expect((e as BottleError).message).toContain("a: no dev.claude-bottle.engine label");
      expect((e as BottleError).hint).toContain("docker node update --label-add");
    }
  });

  it("takes the node asked for, or says it does not exist or cannot be used", () => {
    const nodes = [node("a"), node("b", { ready: false })];
    expect(chooseNode(nodes, new Map([["a", 5]]), "a").hostname).toBe("a");
    expect(() => chooseNode(nodes, new Map(), "zz")).toThrow(/no such node/);
    expect(() => chooseNode(nodes, new Map(), "b")).toThrow(/not ready/);
  });
});

describe("EngineAt", () => {
  it("aims every command at its engine, and at this machine's without an address", async () => {
    const calls: string[][] = [];
    const inner = {
      run: async (args: readonly string[]) => {
        calls.push([...args]);
        return { exitCode: 0, stdout: "", stderr: "" };
      },
    };
    await new EngineAt(inner, "unix:///tmp/n2.sock").run(["ps"]);
    await new EngineAt(inner, null).run(["ps"]);
    expect(calls).toEqual([["--host", "unix:///tmp/n2.sock", "ps"], ["ps"]]);
  });
});

describe("parseServiceEvent", () => {
  it("reads a bottle's service event, and passes over anything else", () => {
    const line = (name: string) =>
      JSON.stringify({
        Type: "service",
        Action: "update",
        timeNano: 1.7e18,
        Actor: { Attributes: { name } },
      });
    expect(parseServiceEvent(line("claude-bottle-demo-ab12_git-gate"))).toEqual({
      slug: "demo-ab12",
      service: "git-gate",
      action: "update",
      time: new Date(1_700_000_000_000),
    });
    expect(parseServiceEvent(line("web_frontend"))).toBe(null);
    expect(parseServiceEvent("{")).toBe(null);
  });
});
