// The supervise sidecar served in-process on 127.0.0.1 over a temporary queue, driven by the
// MCP SDK's real client while the test plays the human through the host-side API: the
// agent's waiting call returns what the host decided, and survives a sidecar restart.

import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DecideContext, decideProposal } from "../../src/approval/decide-proposal.js";
import { findProposal, type QueuedProposal, scanProposals } from "../../src/approval/host-queue.js";
import { refreshPolicySnapshot } from "../../src/approval/policy-snapshot.js";
import {
  listSupervisedBottles,
  type SupervisedBottle,
} from "../../src/approval/supervised-bottle.js";
import type { RunningHttpServer } from "../../src/sidecars/supervise/http-server.js";
import { startSupervise } from "../../src/sidecars/supervise/start-supervise.js";
import {
  composeOn,
  makeSupervisedBottle,
  RecordingDocker,
} from "../support/sidecars/supervise-fixture.js";

let home: string;
let bottle: SupervisedBottle;
let server: RunningHttpServer | null;
const clients: Client[] = [];
const host: DecideContext = {
  backendOf: composeOn(new RecordingDocker()),
  now: () => new Date(),
  actor: "alice@laptop",
};

async function serve(answerTimeoutMs = 20_000, port = 0): Promise<RunningHttpServer> {
  server = await startSupervise(
    { slug: bottle.slug, queueDir: bottle.queueDir, port, answerTimeoutMs },
    { listenHost: "127.0.0.1", log: () => undefined },
  );
  return server;
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: "test-agent", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  clients.push(client);
  return client;
}

type Status = { status: string; id: string; [key: string]: unknown };

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  progress: string[] = [],
  timeout = 60_000,
): Promise<Status> {
  const result = await client.callTool({ name, arguments: args }, undefined, {
    timeout,
    resetTimeoutOnProgress: true,
    onprogress: (p) => {
      if (p.message) progress.push(p.message);
    },
  });
  if (result.isError) throw new Error(JSON.stringify(result.content));
  return result.structuredContent as Status;
}

/** Waits until the queue holds a pending proposal, as `claude-bottle supervise` would see it. */
async function pendingProposal(): Promise<QueuedProposal> {
  for (let i = 0; i < 200; i++) {
    const scan = await scanProposals(await listSupervisedBottles(home));
    const pending = scan.proposals.find((p) => p.status === "pending");
    if (pending !== undefined) return pending;
    await sleep(25);
  }
  throw new Error("no proposal arrived");
}

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), "cb-mcp-"));
  bottle = await makeSupervisedBottle(home);
  server = null;
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  await server?.close();
  await rm(home, { recursive: true, force: true });
});

describe("supervise over MCP", () => {
  it("lists its tools", async () => {
    const client = await connect((await serve()).url);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "list_proposals",
      "proposal_status",
      "request_egress_host",
      "request_gitleaks_exception",
      "show_policy",
    ]);
  });

  it("returns approved, with what changed, once the host approves; the policy shows it", async () => {
    const client = await connect((await serve()).url);
    await refreshPolicySnapshot(bottle, new Date());
    const progress: string[] = [];
    const waiting = call(
      client,
      "request_egress_host",
      { host: "API.Example.test", reason: "read the API docs" },
      progress,
    );
    const pending = await pendingProposal();
    expect(pending.proposal.request).toEqual({
      kind: "egress-host",
      host: "api.example.test",
      port: null,
    });
    expect(pending.proposal.reason).toBe("read the API docs");
    await decideProposal(host, pending, { decision: "approved", reason: "ok for docs" });
    expect(await waiting).toMatchObject({
      status: "approved",
      id: pending.proposal.id,
      changes: ["added api.example.test to pipelock's allowlist"],
      reason: "ok for docs",
    });
    expect(progress[0]).toContain(`proposal ${pending.proposal.id}`);
    const policy = (await call(client, "show_policy", {})) as unknown as {
      egress: { allow: string[] };
    };
    expect(policy.egress.allow).toContain("api.example.test");
  });

  it("returns denied with the human's reason", async () => {
    const client = await connect((await serve()).url);
    const fingerprint = "0123456789abcdef0123456789abcdef01234567:test/key.pem:private-key:1";
    const waiting = call(client, "request_gitleaks_exception", { fingerprint, reason: "fixture" });
    const pending = await pendingProposal();
    await decideProposal(host, pending, { decision: "denied", reason: "use a generated key" });
    expect(await waiting).toMatchObject({
      status: "denied",
      id: pending.proposal.id,
      reason: "use a generated key",
    });
  });

  it("times out with the id and how to check later; proposal_status then tells the answer", async () => {
    const client = await connect((await serve(300)).url);
    const timedOut = await call(client, "request_egress_host", {
      host: "a.example.test",
      port: 8443,
      reason: "x",
    });
    expect(timedOut.status).toBe("timed_out");
    expect(timedOut.message).toContain(`proposal_status {"id": "${timedOut.id}"}`);
    expect(await call(client, "proposal_status", { id: timedOut.id })).toMatchObject({
      status: "pending",
    });
    const scan = await scanProposals(await listSupervisedBottles(home));
    await decideProposal(host, findProposal(scan.proposals, timedOut.id), {
      decision: "approved",
      reason: null,
    });
    expect(await call(client, "proposal_status", { id: timedOut.id })).toMatchObject({
      status: "approved",
      changes: ["added a.example.test:8443 to pipelock's allowlist"],
    });
  });

  it("keeps a waiting proposal across a sidecar restart; it is answerable and resumable", async () => {
    const first = await serve();
    const client = await connect(first.url);
    // The client only learns of the lost stream when its own timeout fires.
    const cutOff = call(
      client,
      "request_egress_host",
      { host: "b.example.test", reason: "x" },
      [],
      1500,
    );
    cutOff.catch(() => undefined);
    const pending = await pendingProposal();
    await first.close();
    server = null;
    await expect(cutOff).rejects.toThrow();

    const second = await serve(20_000, first.port);
    const again = await connect(second.url);
    expect(await call(again, "proposal_status", { id: pending.proposal.id })).toMatchObject({
      status: "pending",
    });
    // Asking again for the same thing resumes the same proposal rather than filing another.
    const resumed = call(again, "request_egress_host", { host: "b.example.test", reason: "x" });
    await sleep(200);
    const scan = await scanProposals(await listSupervisedBottles(home));
    expect(scan.proposals).toHaveLength(1);
    await decideProposal(host, findProposal(scan.proposals, pending.proposal.id), {
      decision: "approved",
      reason: null,
    });
    expect(await resumed).toMatchObject({ status: "approved", id: pending.proposal.id });
  });

  it("collapses 50 concurrent calls, in any spelling of the host, into one proposal; one approval answers all", async () => {
    const client = await connect((await serve()).url);
    const spellings = [
      "flood.example.test",
      "FLOOD.example.test",
      "flood.example.test.",
      "Flood.Example.Test.",
    ];
    const progress: string[] = [];
    const calls = Array.from({ length: 50 }, (_, i) =>
      call(
        client,
        "request_egress_host",
        { host: spellings[i % spellings.length], reason: `reason ${i}` },
        progress,
      ),
    );
    // Every call reports its proposal once it is filed: wait for all 50 before deciding.
    for (let i = 0; i < 400 && progress.length < 50; i++) await sleep(25);
    expect(progress).toHaveLength(50);
    const scan = await scanProposals(await listSupervisedBottles(home));
    expect(scan.proposals).toHaveLength(1);
    const only = scan.proposals[0] as QueuedProposal;
    expect(only.proposal.request).toEqual({
      kind: "egress-host",
      host: "flood.example.test",
      port: null,
    });
    await decideProposal(host, only, { decision: "approved", reason: "once" });
    const answers = await Promise.all(calls);
    expect(answers.map((a) => `${a.status} ${a.id}`)).toEqual(
      Array(50).fill(`approved ${only.proposal.id}`),
    );
  });

  it("refuses new proposals past the cap of 20 waiting, telling the agent why", async () => {
    const client = await connect((await serve()).url);
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        client
          .callTool(
            { name: "request_egress_host", arguments: { host: `h${i}.example.test`, reason: "x" } },
            undefined,
            { timeout: 15_000 },
          )
          .then(
            (r) => (r.isError ? JSON.stringify(r.content) : "answered"),
            () => "still waiting",
          ),
      ),
    );
    const refused = results.filter((r) => r.includes("already waiting"));
    expect(refused).toHaveLength(5);
    expect(refused[0]).toContain(
      "20 proposals of this bottle are already waiting for the human; nothing more is filed until some are answered.",
    );
    expect(results.filter((r) => r === "still waiting")).toHaveLength(20);
    const scan = await scanProposals(await listSupervisedBottles(home));
    expect(scan.proposals.filter((p) => p.status === "pending")).toHaveLength(20);
  });

  it("refuses a request whose Host or Origin is not its own", async () => {
    const running = await serve();
    const post = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: running.port,
            path: "/mcp",
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end("{}");
      });
    expect(await post({ host: "evil.example" })).toBe(403);
    expect(await post({ host: `supervise:${running.port + 1}` })).toBe(403);
    expect(await post({ host: "localhost", origin: "http://evil.example" })).toBe(403);
    expect(await post({ host: `127.0.0.1:${running.port}` })).not.toBe(403);
  });
});
