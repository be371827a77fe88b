import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  appendAuditEntries,
  auditHeadPath,
  canonicalJson,
  GENESIS_HASH,
  sha256,
  verifyAuditLog,
} from "./audit-log.js";

let dir: string;
let log: string;
const now = () => new Date("2030-01-01T12:00:00.000Z");

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cb-audit-"));
  log = join(dir, "audit", "demo.jsonl");
  await appendAuditEntries(
    log,
    [1, 2, 3, 4, 5].map((n) => ({ event: "proposed", id: `p${n}aaaa`, reason: `reason ${n}` })),
    now,
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lines(): Promise<string[]> {
  return (await readFile(log, "utf8")).trimEnd().split("\n");
}

async function rewrite(next: string[], end = "\n"): Promise<void> {
  await writeFile(log, `${next.join("\n")}${end}`);
}

/** Re-signs an entry after editing it, as a forger who knows the format would. */
function reseal(line: string, edit: (e: Record<string, unknown>) => void): string {
  const entry = JSON.parse(line) as Record<string, unknown>;
  edit(entry);
  delete entry.hash;
  return canonicalJson({ ...entry, hash: sha256(canonicalJson(entry)) });
}

describe("audit log", () => {
  it("writes canonical, chained lines and verifies them", async () => {
    const all = await lines();
    expect(all).toHaveLength(5);
    const first = JSON.parse(all[0] as string);
    expect(first).toMatchObject({ seq: 1, prev: GENESIS_HASH, event: "proposed", id: "p1aaaa" });
    expect(JSON.parse(all[1] as string).prev).toBe(sha256(all[0] as string));
    expect(all[0]).toBe(canonicalJson(first));
    expect(await verifyAuditLog(log)).toEqual({ ok: true, path: log, entries: 5 });
  });

  it("continues the chain across appends", async () => {
    await appendAuditEntries(log, [{ event: "decided", id: "p1aaaa" }], now);
    expect(await verifyAuditLog(log)).toMatchObject({ ok: true, entries: 6 });
  });

  it("names an edited line", async () => {
    const all = await lines();
    all[2] = (all[2] as string).replace("reason 3", "reason 9");
    await rewrite(all);
    expect(await verifyAuditLog(log)).toMatchObject({
      ok: false,
      line: 3,
      problem: "edited",
      message: "its fields do not match its hash",
      entries: 2,
    });
  });

  it("names an edited line even when its own hash was recomputed", async () => {
    const all = await lines();
    all[2] = reseal(all[2] as string, (e) => {
      e.reason = "reason 9";
    });
    await rewrite(all);
    expect(await verifyAuditLog(log)).toMatchObject({
      ok: false,
      line: 3,
      problem: "edited",
      message: "line 4 recorded a different hash for it",
    });
  });

  it("names a line that is not as written, even when it parses to the same entry", async () => {
    const all = await lines();
    all[1] = JSON.stringify(JSON.parse(all[1] as string), null, 1).replace(/\n/g, "");
    await rewrite(all);
    expect(await verifyAuditLog(log)).toMatchObject({ ok: false, line: 2, problem: "edited" });
  });

  it("names where a line was deleted", async () => {
    const all = await lines();
    all.splice(1, 1);
    await rewrite(all);
    expect(await verifyAuditLog(log)).toMatchObject({
      ok: false,
      line: 2,
      problem: "deleted",
      message: "entry 2 is missing (found entry 3)",
    });
  });

  it("names where lines were reordered", async () => {
    const all = await lines();
    [all[2], all[3]] = [all[3] as string, all[2] as string];
    await rewrite(all);
    expect(await verifyAuditLog(log)).toMatchObject({
      ok: false,
      line: 3,
      problem: "reordered",
      message: "entry 4 comes before entry 3 (line 4)",
    });
  });

  it("names a line repeated later", async () => {
    const all = await lines();
    await rewrite([...all.slice(0, 3), all[1] as string]);
    expect(await verifyAuditLog(log)).toMatchObject({
      ok: false,
      line: 4,
      problem: "reordered",
      message: "entry 2 comes after entry 3",
    });
  });

  it("names a cut-off last line", async () => {
    const text = await readFile(log, "utf8");
    await writeFile(log, text.slice(0, -20));
    expect(await verifyAuditLog(log)).toMatchObject({
      ok: false,
      line: 5,
      problem: "truncated",
      message: "the last line is incomplete: the log was cut off",
    });
  });

  it("finds whole lines cut from the end by the head", async () => {
    await rewrite((await lines()).slice(0, 3));
    expect(await verifyAuditLog(log)).toMatchObject({
      ok: false,
      line: 4,
      problem: "truncated",
      message: "the log ends at entry 3 but its head records 5 entries",
      entries: 3,
    });
  });

  it("finds a rewritten tail by the head", async () => {
    const all = await lines();
    all[4] = reseal(all[4] as string, (e) => {
      e.reason = "forged";
    });
    await rewrite(all);
    expect(await verifyAuditLog(log)).toMatchObject({
      ok: false,
      line: 5,
      problem: "edited",
      message: "the line does not match the hash its head records",
    });
  });

  it("verifies a log whose head is gone as far as the chain goes", async () => {
    await rm(auditHeadPath(log));
    expect(await verifyAuditLog(log)).toMatchObject({ ok: true, entries: 5 });
  });

  it("has nothing to verify without a log", async () => {
    expect(await verifyAuditLog(join(dir, "none.jsonl"))).toBeNull();
  });

  it("isolates a torn last line before appending, so only that line fails", async () => {
    const text = await readFile(log, "utf8");
    await writeFile(log, `${text}{"seq":6,"at`);
    await appendAuditEntries(log, [{ event: "decided", id: "p1aaaa" }], now);
    expect(await verifyAuditLog(log)).toMatchObject({ ok: false, line: 6, problem: "malformed" });
  });
});
