import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Answer, ProposalRequest } from "../../contracts/queue-format.js";
import { answerPath, queuePaths, toJsonText, writeFileAtomic } from "../../shared/queue-files.js";
import { PendingLimitError, ProposalQueue, requestKey } from "./proposal-queue.js";

let dir: string;
let ids: string[];

function queue(): ProposalQueue {
  let n = 0;
  return new ProposalQueue({
    queueDir: dir,
    slug: "demo-7f3a",
    now: () => new Date(Date.UTC(2030, 0, 1, 12, 0, 0)),
    newId: () => ids[n++] ?? `id${n}zzzz`,
    pollMs: 10,
  });
}

function answer(id: string, decision: Answer["decision"], reason: string | null): Answer {
  return {
    version: 1,
    id,
    decision,
    reason,
    by: "alice@host",
    decidedAt: "2030-01-01T12:05:00.000Z",
    changes: decision === "approved" ? ["added x to pipelock's allowlist"] : [],
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cb-queue-"));
  ids = ["aaaa1111", "bbbb2222", "cccc3333"];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ProposalQueue", () => {
  it("files one JSON file per proposal and leaves no temporary file behind", async () => {
    const { proposal, reused } = await queue().submit(
      { kind: "egress-host", host: "api.example.test", port: null },
      "  need the API docs  ",
    );
    expect(reused).toBe(false);
    expect(await readdir(queuePaths(dir).proposals)).toEqual(["aaaa1111.json"]);
    const onDisk = JSON.parse(
      await readFile(join(queuePaths(dir).proposals, "aaaa1111.json"), "utf8"),
    );
    expect(onDisk).toEqual({
      version: 1,
      id: "aaaa1111",
      slug: "demo-7f3a",
      createdAt: "2030-01-01T12:00:00.000Z",
      request: { kind: "egress-host", host: "api.example.test", port: null },
      reason: "need the API docs",
    });
    expect(proposal).toEqual(onDisk);
  });

  it("resumes the pending proposal for the same request instead of queueing a duplicate", async () => {
    const q = queue();
    const first = await q.submit({ kind: "egress-host", host: "a.test", port: 8443 }, "x");
    const again = await q.submit({ kind: "egress-host", host: "a.test", port: 8443 }, "y");
    const other = await q.submit({ kind: "egress-host", host: "a.test", port: null }, "z");
    expect(again).toEqual({ proposal: first.proposal, reused: true });
    expect(other.proposal.id).toBe("bbbb2222");
    await writeFileAtomic(
      answerPath(dir, "aaaa1111"),
      toJsonText(answer("aaaa1111", "denied", "no")),
    );
    const after = await q.submit({ kind: "egress-host", host: "a.test", port: 8443 }, "w");
    expect(after.proposal.id).toBe("cccc3333");
  });

  it("never overwrites a proposal whose id is taken", async () => {
    ids = ["aaaa1111", "aaaa1111", "dddd4444"];
    const q = queue();
    await q.submit({ kind: "egress-host", host: "a.test", port: null }, "x");
    const second = await q.submit({ kind: "egress-host", host: "b.test", port: null }, "y");
    expect(second.proposal.id).toBe("dddd4444");
    expect((await q.state("aaaa1111"))?.proposal.request).toMatchObject({ host: "a.test" });
  });

  it("waits until the answer file appears", async () => {
    const q = queue();
    const { proposal } = await q.submit({ kind: "egress-host", host: "a.test", port: null }, "x");
    setTimeout(() => {
      void writeFileAtomic(
        answerPath(dir, proposal.id),
        toJsonText(answer(proposal.id, "approved", null)),
      );
    }, 50);
    const got = await q.waitForAnswer(proposal.id, { timeoutMs: 5000 });
    expect(got?.decision).toBe("approved");
  });

  it("gives up after the timeout, ticking while it waits, and the proposal stays pending", async () => {
    const q = queue();
    const { proposal } = await q.submit({ kind: "egress-host", host: "a.test", port: null }, "x");
    const ticks: number[] = [];
    const got = await q.waitForAnswer(proposal.id, {
      timeoutMs: 120,
      tickMs: 30,
      onTick: (ms) => {
        ticks.push(ms);
      },
    });
    expect(got).toBeNull();
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect((await q.state(proposal.id))?.answer).toBeNull();
  });

  it("stops waiting when the call is aborted", async () => {
    const q = queue();
    const { proposal } = await q.submit({ kind: "egress-host", host: "a.test", port: null }, "x");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const started = Date.now();
    expect(
      await q.waitForAnswer(proposal.id, { timeoutMs: 10_000, signal: controller.signal }),
    ).toBeNull();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("knows no proposal by a name that is not an id, and ignores an answer for another id", async () => {
    const q = queue();
    expect(await q.state("../../etc/passwd")).toBeNull();
    const { proposal } = await q.submit({ kind: "egress-host", host: "a.test", port: null }, "x");
    await writeFile(answerPath(dir, proposal.id), toJsonText(answer("zzzz9999", "approved", null)));
    expect((await q.state(proposal.id))?.answer).toBeNull();
  });
});

describe("ProposalQueue: requests filed at once", () => {
  const host = (name: string): ProposalRequest => ({ kind: "egress-host", host: name, port: null });
  /** A queue as the sidecar makes it: random ids, real clock. */
  const realQueue = (maxPending?: number) =>
    new ProposalQueue({
      queueDir: dir,
      slug: "demo-7f3a",
      pollMs: 10,
      ...(maxPending === undefined ? {} : { maxPending }),
    });

  it("collapses 50 identical requests into one proposal, and all 50 get its answer", async () => {
    const q = realQueue();
    const filed = await Promise.all(
      Array.from({ length: 50 }, (_, i) => q.submit(host("flood.test"), `reason ${i}`)),
    );
    const proposals = await readdir(queuePaths(dir).proposals);
    expect(proposals).toHaveLength(1);
    const id = proposals[0]?.replace(/\.json$/, "");
    expect(new Set(filed.map((f) => f.proposal.id))).toEqual(new Set([id]));
    expect(filed.filter((f) => !f.reused)).toHaveLength(1);
    // The first reason is kept, whoever else asked.
    expect(filed.every((f) => f.proposal.reason === "reason 0")).toBe(true);
    const waits = filed.map((f) => q.waitForAnswer(f.proposal.id, { timeoutMs: 10_000 }));
    await writeFileAtomic(answerPath(dir, id ?? ""), toJsonText(answer(id ?? "", "denied", "no")));
    const answers = await Promise.all(waits);
    expect(answers.map((a) => `${a?.id} ${a?.decision}`)).toEqual(Array(50).fill(`${id} denied`));
  });

  it("collapses them across two queues on one directory (two sidecar processes)", async () => {
    const [a, b] = [realQueue(), realQueue()];
    const filed = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).submit(host("twice.test"), "x")),
    );
    expect(await readdir(queuePaths(dir).proposals)).toHaveLength(1);
    expect(new Set(filed.map((f) => f.proposal.id)).size).toBe(1);
  });

  it("collapses identical gitleaks exceptions too, but not two findings", async () => {
    const q = realQueue();
    const finding = (line: number): ProposalRequest => ({
      kind: "gitleaks-exception",
      fingerprint: `0123456789abcdef0123456789abcdef01234567:test/key.pem:private-key:${line}`,
    });
    const filed = await Promise.all(
      Array.from({ length: 30 }, (_, i) => q.submit(finding(i % 3 === 0 ? 2 : 1), "fixture")),
    );
    expect(await readdir(queuePaths(dir).proposals)).toHaveLength(2);
    expect(new Set(filed.map((f) => f.proposal.id)).size).toBe(2);
  });

  it("keys a request by what it asks for: host, port and kind", () => {
    expect(requestKey(host("a.test"))).toBe(requestKey(host("a.test")));
    expect(requestKey(host("a.test"))).not.toBe(
      requestKey({ kind: "egress-host", host: "a.test", port: 443 }),
    );
    expect(requestKey(host("a.test"))).not.toBe(requestKey(host("b.test")));
  });

  it("refuses a request whose host is not in normal form, rather than keying it apart", async () => {
    await expect(realQueue().submit(host("Flood.Test."), "x")).rejects.toThrow(
      /is not in normal form/,
    );
    expect(await readdir(queuePaths(dir).proposals).catch(() => [])).toEqual([]);
  });

  it("files a new proposal once the pending one is answered, and collapses again", async () => {
    const q = realQueue();
    const first = await q.submit(host("again.test"), "x");
    await writeFileAtomic(
      answerPath(dir, first.proposal.id),
      toJsonText(answer(first.proposal.id, "denied", "no")),
    );
    const second = await Promise.all(
      Array.from({ length: 10 }, () => q.submit(host("again.test"), "y")),
    );
    expect(new Set(second.map((f) => f.proposal.id)).size).toBe(1);
    expect(second[0]?.proposal.id).not.toBe(first.proposal.id);
    expect(await readdir(queuePaths(dir).proposals)).toHaveLength(2);
  });

  it("files past a key whose filer died before writing the proposal", async () => {
    const q = realQueue();
    await q.submit(host("warmup.test"), "x");
    const key = join(queuePaths(dir).keys, requestKey(host("dead.test")));
    await writeFile(key, "dead0000\n");
    const old = new Date(Date.now() - 60_000);
    await utimes(key, old, old);
    const { proposal, reused } = await q.submit(host("dead.test"), "x");
    expect(reused).toBe(false);
    expect(proposal.id).not.toBe("dead0000");
    expect(await readdir(queuePaths(dir).keys)).toContain(
      `${requestKey(host("dead.test"))}-dead0000`,
    );
  });

  it("caps the proposals waiting at once; a repeat of a waiting one still resumes it", async () => {
    const q = realQueue(20);
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => q.submit(host(`h${i}.flood.test`), "x")),
    );
    const filed = results.filter((r) => r.status === "fulfilled");
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    expect(filed).toHaveLength(20);
    expect(refused).toHaveLength(40);
    expect(refused.every((e) => e instanceof PendingLimitError)).toBe(true);
    expect((refused[0] as Error).message).toBe(
      "20 proposals of this bottle are already waiting for the human; nothing more is filed until some are answered. Wait on the ones you have (proposal_status with wait_seconds, or list_proposals), and ask for what matters most.",
    );
    expect(await readdir(queuePaths(dir).proposals)).toHaveLength(20);
    const waiting = (await q.list())[0]?.proposal;
    if (waiting === undefined) throw new Error("no proposal");
    expect(await q.submit(waiting.request, "again")).toEqual({ proposal: waiting, reused: true });
    // One answered frees one place.
    await writeFileAtomic(
      answerPath(dir, waiting.id),
      toJsonText(answer(waiting.id, "approved", null)),
    );
    expect((await q.submit(host("one-more.flood.test"), "x")).reused).toBe(false);
    await expect(q.submit(host("two-more.flood.test"), "x")).rejects.toThrow(PendingLimitError);
  });
});
