import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { tempDirPerTest } from "../../test/support/unit/temp-dir.js";
import {
  appendAuditEntries,
  auditHeadPath,
  canonicalJson,
  GENESIS_HASH,
  sha256,
  verifyAuditLog,
} from "./audit-log.js";

const dir = tempDirPerTest("cb-audit-");
let log: string;
const now = () => new Date("2030-01-01T12:00:00.000Z");

beforeEach(async () => {
  log = join(dir(), "audit", "demo.jsonl");
  await appendAuditEntries(
    log,
    [1, 2, 3, 4, 5].map((n) => ({ event: "proposed", id: `p${n}aaaa`, reason: `reason ${n}` })),
    now,
  );
});

async function lines(): Promise<string[]> {
  return (await readFile(log, "utf8")).trimEnd().split("\n");
}

/** A tampering that replaces the line at a 0-based index. */
function atLine(index: number, edit: (line: string) => string): (text: string) => string {
  return eachLine((all) => {
    all[index] = edit(all[index] as string);
  });
}

/** A tampering that edits the log line by line, keeping the final newline. */
function eachLine(edit: (all: string[]) => unknown): (text: string) => string {
  return (text) => {
    const all = text.trimEnd().split("\n");
    edit(all);
    return `${all.join("\n")}\n`;
  };
}

/** Re-signs an entry after editing its fields, as a forger who knows the format would. */
function reseal(line: string, fields: Record<string, unknown>): string {
  const { hash: _, ...entry } = { ...(JSON.parse(line) as Record<string, unknown>), ...fields };
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

  /** A tampering: what it does to the log's text, and what verify must say of it. */
  const tamperings: {
    name: string;
    tamper: (text: string) => string;
    found: { line: number; problem: string; message?: string; entries?: number };
  }[] = [
    {
      name: "names an edited line",
      tamper: atLine(2, (line) => line.replace("reason 3", "reason 9")),
      found: {
        line: 3,
        problem: "edited",
        message: "its fields do not match its hash",
        entries: 2,
      },
    },
    {
      name: "names an edited line even when its own hash was recomputed",
      tamper: atLine(2, (line) => reseal(line, { reason: "reason 9" })),
      found: { line: 3, problem: "edited", message: "line 4 recorded a different hash for it" },
    },
    {
      name: "names a line that is not as written, even when it parses to the same entry",
      tamper: atLine(1, (line) => JSON.stringify(JSON.parse(line), null, 1).replace(/\n/g, "")),
      found: { line: 2, problem: "edited" },
    },
    {
      name: "names where a line was deleted",
      tamper: eachLine((all) => all.splice(1, 1)),
      found: { line: 2, problem: "deleted", message: "entry 2 is missing (found entry 3)" },
    },
    {
      name: "names where lines were reordered",
      tamper: eachLine((all) => all.splice(2, 2, all[3] as string, all[2] as string)),
      found: { line: 3, problem: "reordered", message: "entry 4 comes before entry 3 (line 4)" },
    },
    {
      name: "names a line repeated later",
      tamper: eachLine((all) => all.splice(3, 2, all[1] as string)),
      found: { line: 4, problem: "reordered", message: "entry 2 comes after entry 3" },
    },
    {
      name: "names a cut-off last line",
      tamper: (text) => text.slice(0, -20),
      found: {
        line: 5,
        problem: "truncated",
        message: "the last line is incomplete: the log was cut off",
      },
    },
    {
      name: "finds whole lines cut from the end by the head",
      tamper: eachLine((all) => all.splice(3)),
      found: {
        line: 4,
        problem: "truncated",
        message: "the log ends at entry 3 but its head records 5 entries",
        entries: 3,
      },
    },
    {
      name: "finds a rewritten tail by the head",
      tamper: atLine(4, (line) => reseal(line, { reason: "forged" })),
      found: {
        line: 5,
        problem: "edited",
        message: "the line does not match the hash its head records",
      },
    },
  ];

  it.each(tamperings)("$name", async ({ tamper, found }) => {
    await writeFile(log, tamper(await readFile(log, "utf8")));
    expect(await verifyAuditLog(log)).toMatchObject({ ok: false, ...found });
  });

  it("verifies a log whose head is gone as far as the chain goes", async () => {
    await rm(auditHeadPath(log));
    expect(await verifyAuditLog(log)).toMatchObject({ ok: true, entries: 5 });
  });

  it("has nothing to verify without a log", async () => {
    expect(await verifyAuditLog(join(dir(), "none.jsonl"))).toBeNull();
  });

  it("isolates a torn last line before appending, so only that line fails", async () => {
    const text = await readFile(log, "utf8");
    await writeFile(log, `${text}{"seq":6,"at`);
    await appendAuditEntries(log, [{ event: "decided", id: "p1aaaa" }], now);
    expect(await verifyAuditLog(log)).toMatchObject({ ok: false, line: 6, problem: "malformed" });
  });
});
