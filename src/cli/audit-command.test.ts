// `audit show` and `audit verify` on logs holding what a hostile agent can make the host
// record (its reasons, its proposal text): no raw control character reaches the terminal.
import { appendFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import {
  ALL_HOSTILE,
  HOSTILE_TEXT,
  rawControlsIn,
} from "../../test/support/fixtures/hostile-text.js";
import { runCliWith } from "../../test/support/unit/run-cli.js";
import { tempDirPerTest } from "../../test/support/unit/temp-dir.js";
import { appendAuditEntries, auditLogPath } from "../approval/audit-log.js";

const home = tempDirPerTest("cb-audit-cli-");

function run(...argv: string[]) {
  return runCliWith({ env: { HOME: home(), CLAUDE_BOTTLE_HOME: home() } }, ...argv);
}

async function hostileLog(slug = "demo-7f3a"): Promise<string> {
  const path = auditLogPath(home(), slug);
  await appendAuditEntries(
    path,
    [
      { event: "proposed", id: "abcd1234", reason: ALL_HOSTILE },
      { event: `decided${HOSTILE_TEXT["CSI clear screen"]}`, id: "abcd1234", by: ALL_HOSTILE },
    ],
    () => new Date("2030-01-01T12:00:00.000Z"),
  );
  return path;
}

describe("audit output holds no raw control character", () => {
  it("show: each field escaped, the tab-separated layout kept", async () => {
    await hostileLog();
    const r = await run("audit", "show", "--slug", "demo-7f3a");
    expect(r.code).toBe(0);
    expect(rawControlsIn(r.stdout, { newline: true, tab: true })).toEqual([]);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]?.split("\t").slice(0, 3)).toEqual([
      "2",
      "2030-01-01T12:00:00.000Z",
      "decideda\\x1b[2J\\x1b[Hb",
    ]);
  });

  it("show --json: JSON lines that parse to the entries as stored", async () => {
    await hostileLog();
    const r = await run("audit", "show", "--slug", "demo-7f3a", "--json");
    expect(r.code).toBe(0);
    expect(rawControlsIn(r.stdout, { newline: true })).toEqual([]);
    const entries = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries[0]?.reason).toBe(ALL_HOSTILE);
    expect(entries[1]?.by).toBe(ALL_HOSTILE);
  });

  it("verify: a broken log's path and problem are shown escaped", async () => {
    const path = await hostileLog(`evil${HOSTILE_TEXT["RLO display spoof"]}`);
    await appendFile(path, `{"seq":3,"junk":"\u001b]0;t\u0007"}\n`);
    const r = await run("audit", "verify");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("evilfix\\u202etxt.exe.jsonl: line 3");
    expect(rawControlsIn(r.stderr, { newline: true })).toEqual([]);
    const json = await run("audit", "verify", "--json");
    expect(rawControlsIn(json.stdout, { newline: true })).toEqual([]);
    expect(JSON.parse(json.stdout)).toMatchObject([{ ok: false, path, line: 3 }]);
  });
});
