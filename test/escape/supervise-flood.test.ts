// Flooding the human: a hostile agent files the same request fifty times at once, in every
// spelling of the host, or fifty different ones, hoping that a person faced with a wall of
// proposals approves without reading. From inside a real bottle, over real MCP connections,
// identical requests must collapse into one pending proposal that `claude-bottle supervise
// list` shows once and one decision answers for every caller, and distinct ones must stop
// at the cap with the agent told why.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SUPERVISE_MAX_PENDING_PROPOSALS } from "../../src/contracts/supervise.js";
import { PACKAGE_ROOT, writeAgentBottle } from "../support/cli/cli-process.js";
import { useTestHome } from "../support/cli/use-test-home.js";
import {
  copyIntoAgent,
  type RunningBottle,
  startBottle,
} from "../support/docker/bottle-harness.js";
import { leftoversOf } from "../support/docker/docker-state.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { bottleYaml } from "../support/fixtures/bottle-yaml.js";
import { bundleForNode } from "../support/sidecars/bundle.js";

const CLIENT_IN_AGENT = "/tmp/cb-flood-client.mjs";

interface CallResult {
  i: number;
  entry: string;
  status?: string;
  id?: string;
  reason?: string | null;
  refused?: string;
  failed?: string;
}

interface ListedProposal {
  id: string;
  slug: string;
  status: string;
  request: { kind: string; host?: string; port?: number | null };
  reason: string;
}

describeWithEngine("escape: flooding the human with proposals", () => {
  const t = useTestHome((home) =>
    writeAgentBottle(
      home,
      "flood",
      bottleYaml({ allow: ["allowed.example.test"], supervise: true }),
    ),
  );
  let work: string;
  let bottle: RunningBottle;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "cb-flood-"));
    const client = join(work, "client.mjs");
    await bundleForNode(join(PACKAGE_ROOT, "test/supervise/flood-mcp-client.ts"), client);
    bottle = await startBottle(t, "flood");
    copyIntoAgent(bottle, client, CLIENT_IN_AGENT);
  });

  afterAll(async () => {
    const slug = bottle?.slug;
    await bottle?.stop();
    await rm(work, { recursive: true, force: true });
    if (slug !== undefined) {
      const left = leftoversOf(slug);
      expect([...left.containers, ...left.networks, ...left.volumes]).toEqual([]);
    }
  });

  /** Starts the flood as the agent user; resolves with every call's result once all return. */
  function flood(name: string, entries: string[], timeoutMs = 240_000) {
    const logFile = `/tmp/${name}.log`;
    const done = bottle
      .exec(
        `CB_FLOOD_REQUESTS='${entries.join(" ")}' CB_FLOOD_LOG=${logFile} CB_FLOOD_TIMEOUT_MS=${timeoutMs} node ${CLIENT_IN_AGENT}`,
        { timeoutMs: timeoutMs + 120_000 },
      )
      .then((r) =>
        r.stdout
          .split("\n")
          .filter((l) => l.startsWith("RESULT "))
          .map((l) => JSON.parse(l.slice("RESULT ".length)) as CallResult),
      );
    /** Waits until every call has its proposal (or its refusal). */
    const filed = async () => {
      for (let i = 0; i < 600; i++) {
        const r = await bottle.exec(`cat ${logFile} 2>/dev/null | wc -l`);
        if (Number(r.stdout.trim()) >= entries.length) return;
        await sleep(500);
      }
      throw new Error(`the ${name} calls were not all filed`);
    };
    return { done, filed };
  }

  async function pending(): Promise<ListedProposal[]> {
    const listed = await t.run(["supervise", "list", "--json"]);
    expect(listed.code).toBe(0);
    return (JSON.parse(listed.stdout) as ListedProposal[]).filter(
      (p) => p.slug === bottle.slug && p.status === "pending",
    );
  }

  async function decide(id: string, verb: "approve" | "deny", reason: string): Promise<void> {
    const r = await t.run(["supervise", verb, id, "--reason", reason]);
    expect(r.code, r.stderr).toBe(0);
  }

  it("collapses 50 identical calls into one proposal; one approval answers all 50", async () => {
    const run = flood("same", Array(50).fill("flood.example.test"));
    await run.filed();
    const waiting = await pending();
    expect(waiting.map((p) => [p.request.host, p.request.port])).toEqual([
      ["flood.example.test", null],
    ]);
    const id = waiting[0]?.id ?? "";
    await decide(id, "approve", "once is enough");
    const results = await run.done;
    expect(results).toHaveLength(50);
    expect(results.map((r) => `${r.status} ${r.id}`)).toEqual(Array(50).fill(`approved ${id}`));
    expect(await pending()).toEqual([]);
  });

  it("collapses every spelling of one host (case, trailing dot, IPv6 forms), not other ports", async () => {
    const names = [
      "spelled.example.test",
      "SPELLED.EXAMPLE.TEST",
      "spelled.example.test.",
      "Spelled.Example.Test.",
    ];
    const v6 = ["2001:db8::1", "[2001:db8::1]", "2001:DB8:0:0:0:0:0:1"];
    const entries = [
      ...Array.from({ length: 24 }, (_, i) => names[i % names.length] ?? ""),
      ...Array.from({ length: 18 }, (_, i) => v6[i % v6.length] ?? ""),
      ...Array.from({ length: 6 }, () => "spelled.example.test|8443"),
    ];
    const run = flood("spellings", entries);
    await run.filed();
    const waiting = await pending();
    expect(waiting.map((p) => `${p.request.host} ${p.request.port}`).sort()).toEqual([
      "2001:db8::1 null",
      "spelled.example.test 8443",
      "spelled.example.test null",
    ]);
    for (const p of waiting) await decide(p.id, "deny", `not ${p.request.host}`);
    const results = await run.done;
    expect(results).toHaveLength(48);
    const idOf = (host: string, port: number | null) =>
      waiting.find((p) => p.request.host === host && p.request.port === port)?.id;
    const expected = entries.map((entry) => {
      const [host, port] = entry.split("|");
      const normal = host?.includes(":") ? "2001:db8::1" : "spelled.example.test";
      return `denied ${idOf(normal, port ? Number(port) : null)} not ${normal}`;
    });
    expect(results.map((r) => `${r.status} ${r.id} ${r.reason}`)).toEqual(expected);
  });

  it(`refuses distinct requests past ${SUPERVISE_MAX_PENDING_PROPOSALS} pending, telling the agent why`, async () => {
    const entries = Array.from({ length: 60 }, (_, i) => `h${i}.cap.example.test`);
    // The filed calls wait until the client gives up on them; the refused return at once.
    const run = flood("distinct", entries, 60_000);
    await run.filed();
    const waiting = await pending();
    expect(waiting).toHaveLength(SUPERVISE_MAX_PENDING_PROPOSALS);
    expect(new Set(waiting.map((p) => p.request.host)).size).toBe(20);
    const results = await run.done;
    const refused = results.filter((r) => r.refused !== undefined);
    expect(refused).toHaveLength(40);
    expect(new Set(refused.map((r) => r.refused))).toEqual(
      new Set([
        "20 proposals of this bottle are already waiting for the human; nothing more is filed until some are answered. Wait on the ones you have (proposal_status with wait_seconds, or list_proposals), and ask for what matters most.",
      ]),
    );
    // The refused hosts were never put before the human.
    const listedHosts = new Set(waiting.map((p) => p.request.host));
    expect(refused.filter((r) => listedHosts.has(r.entry))).toEqual([]);
    expect(
      results
        .filter((r) => r.refused === undefined)
        .map((r) => r.entry)
        .sort(),
    ).toEqual([...listedHosts].sort());
    expect(await pending()).toHaveLength(SUPERVISE_MAX_PENDING_PROPOSALS);
  });
});
