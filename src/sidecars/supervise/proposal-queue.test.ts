import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProposalQueue } from "./proposal-queue.js";
import { answerPath, queuePaths, toJsonText, writeFileAtomic } from "./queue-files.js";
import type { Answer } from "./queue-format.js";

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
