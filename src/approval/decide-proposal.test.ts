import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeOn, RecordingDocker } from "../../test/support/sidecars/supervise-fixture.js";
import { makeSupervisedQueue } from "../../test/support/unit/supervised-queue.js";
import { tempDirPerTest } from "../../test/support/unit/temp-dir.js";
import { answerPath, claimPath, toJsonText } from "../shared/queue-files.js";
import { ProposalQueue } from "../sidecars/supervise/proposal-queue.js";
import { readAuditEntries, verifyAuditLog } from "./audit-log.js";
import { type DecideContext, decideProposal } from "./decide-proposal.js";
import { findProposal, scanProposals } from "./host-queue.js";
import { listSupervisedBottles, type SupervisedBottle } from "./supervised-bottle.js";

const home = tempDirPerTest("cb-decide-");
let bottle: SupervisedBottle;
let queue: ProposalQueue;
let ctx: DecideContext;

beforeEach(async () => {
  ({ bottle, queue } = await makeSupervisedQueue(home()));
  ctx = {
    backendOf: composeOn(new RecordingDocker()),
    now: () => new Date("2030-01-01T12:00:00.000Z"),
    actor: "alice@laptop",
  };
});

async function queued(id: string) {
  return findProposal((await scanProposals(await listSupervisedBottles(home()))).proposals, id);
}

describe("decideProposal", () => {
  it("approves: applies, publishes the policy, audits, then answers", async () => {
    const { proposal } = await queue.submit(
      { kind: "egress-host", host: "api.example.test", port: null },
      "docs",
    );
    const outcome = await decideProposal(ctx, await queued(proposal.id), {
      decision: "approved",
      reason: null,
    });
    expect(outcome).toMatchObject({
      decision: "approved",
      changes: ["added api.example.test to pipelock's allowlist"],
      resumed: false,
    });
    expect(parse(await readFile(bottle.pipelockConfig, "utf8")).allow).toContain(
      "api.example.test",
    );
    const answer = await queue.answer(proposal.id);
    expect(answer).toMatchObject({ decision: "approved", by: "alice@laptop", reason: null });
    const policy = await queue.policy();
    expect(policy?.egress).toEqual({
      allow: ["api.github.com", "*.githubusercontent.com", "api.example.test"],
      dlp: "block",
      routes: [{ host: "api.github.com", paths: ["/repos/"], methods: "all" }],
    });
    expect(JSON.parse(await readFile(join(bottle.currentDir, "policy.json"), "utf8"))).toEqual(
      policy,
    );
    const entries = await readAuditEntries(bottle.auditLog);
    expect(entries.map((e) => [e.event, e.id])).toEqual([
      ["proposed", proposal.id],
      ["decided", proposal.id],
    ]);
    expect(entries[1]).toMatchObject({ decision: "approved", by: "alice@laptop" });
    expect(await verifyAuditLog(bottle.auditLog)).toMatchObject({ ok: true, entries: 2 });
  });

  it("refuses to answer a proposal twice, either way", async () => {
    const { proposal } = await queue.submit(
      { kind: "egress-host", host: "a.test", port: null },
      "x",
    );
    await decideProposal(ctx, await queued(proposal.id), { decision: "denied", reason: "no" });
    const stale = await queued(proposal.id);
    await expect(
      decideProposal(ctx, stale, { decision: "approved", reason: null }),
    ).rejects.toThrow(
      `proposal ${proposal.id} was already denied by alice@laptop at 2030-01-01T12:00:00.000Z (no)`,
    );
    expect(parse(await readFile(bottle.pipelockConfig, "utf8")).allow).not.toContain("a.test");
    expect((await queue.answer(proposal.id))?.decision).toBe("denied");
    expect(
      (await readAuditEntries(bottle.auditLog)).filter((e) => e.event === "decided"),
    ).toHaveLength(1);
  });

  it("lets only one of two racing decisions through", async () => {
    const { proposal } = await queue.submit(
      { kind: "egress-host", host: "a.test", port: null },
      "x",
    );
    const target = await queued(proposal.id);
    const results = await Promise.allSettled([
      decideProposal(ctx, target, { decision: "approved", reason: null }),
      decideProposal(ctx, target, { decision: "denied", reason: "no" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
  });

  it("needs a reason to deny", async () => {
    const { proposal } = await queue.submit(
      { kind: "egress-host", host: "a.test", port: null },
      "x",
    );
    await expect(
      decideProposal(ctx, await queued(proposal.id), { decision: "denied", reason: "  " }),
    ).rejects.toThrow("a denial needs a reason, which the agent is told");
  });

  it("finishes a decision whose process died after claiming, the same way only", async () => {
    const { proposal } = await queue.submit(
      { kind: "egress-host", host: "a.test", port: null },
      "x",
    );
    await writeFile(
      claimPath(bottle.queueDir, proposal.id),
      toJsonText({
        version: 1,
        id: proposal.id,
        decision: "approved",
        reason: "fine",
        by: "bob@laptop",
        pid: 1,
        hostname: "laptop",
        at: "2030-01-01T11:00:00.000Z",
      }),
    );
    expect((await queued(proposal.id)).status).toBe("deciding");
    await expect(
      decideProposal(ctx, await queued(proposal.id), { decision: "denied", reason: "no" }),
    ).rejects.toThrow(
      `proposal ${proposal.id} was being approved by bob@laptop at 2030-01-01T11:00:00.000Z when that was interrupted`,
    );
    const outcome = await decideProposal(ctx, await queued(proposal.id), {
      decision: "approved",
      reason: null,
    });
    expect(outcome).toMatchObject({ resumed: true, reason: "fine" });
    expect((await queued(proposal.id)).status).toBe("approved");
  });

  it("releases the claim when the approval cannot be applied", async () => {
    const { proposal } = await queue.submit(
      { kind: "egress-host", host: "a.test", port: null },
      "x",
    );
    await rm(bottle.pipelockConfig);
    await expect(
      decideProposal(ctx, await queued(proposal.id), { decision: "approved", reason: null }),
    ).rejects.toThrow("pipelock's policy file");
    expect((await queued(proposal.id)).status).toBe("pending");
    await expect(readFile(answerPath(bottle.queueDir, proposal.id))).rejects.toThrow();
  });
});

describe("findProposal", () => {
  it("takes a unique prefix and names ambiguity", async () => {
    let n = 0;
    const ids = ["abcd1111", "abcd2222"];
    const q = new ProposalQueue({
      queueDir: bottle.queueDir,
      slug: bottle.slug,
      newId: () => ids[n++] ?? "zzzz",
    });
    await q.submit({ kind: "egress-host", host: "a.test", port: null }, "x");
    await q.submit({ kind: "egress-host", host: "b.test", port: null }, "x");
    const { proposals } = await scanProposals(await listSupervisedBottles(home()));
    expect(findProposal(proposals, "abcd2").proposal.id).toBe("abcd2222");
    expect(() => findProposal(proposals, "abcd")).toThrow(
      '"abcd" matches 2 proposals: abcd1111, abcd2222',
    );
    expect(() => findProposal(proposals, "ffff")).toThrow('no proposal "ffff"');
  });
});
