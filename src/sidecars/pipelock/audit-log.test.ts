import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AuditEvent, createAuditLog } from "./audit-log.js";

const EVENT: AuditEvent = {
  client: "10.0.0.2:5000",
  method: "GET",
  host: "api.example.test",
  port: 443,
  path: "/v1/x",
  decision: "allowed",
  rule: null,
  location: null,
  status: 200,
};
const now = () => new Date("2026-11-27T00:00:00.000Z");

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipelock-audit-"));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe("pipelock's audit log file", () => {
  it("appends one JSON line per event, each on disk when write returns", async () => {
    const path = join(dir, "audit.jsonl");
    await writeFile(path, '{"earlier":true}\n');
    const log = createAuditLog({ path, now });
    log.write(EVENT);
    // No flush, no close: the line is already in the file.
    const lines = (await readFile(path, "utf8")).trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1] as string)).toEqual({ ts: "2026-11-27T00:00:00.000Z", ...EVENT });
    log.write({ ...EVENT, decision: "denied", rule: "not-allowlisted", status: 403 });
    await log.close();
    const last = (await readFile(path, "utf8")).trim().split("\n").at(-1) as string;
    expect(JSON.parse(last)).toMatchObject({ decision: "denied", rule: "not-allowlisted" });
  });

  it("creates the file readable by its owner only", async () => {
    const path = join(dir, "new.jsonl");
    const log = createAuditLog({ path, now });
    await log.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("says once on stderr that it cannot write, and keeps the proxy going", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const log = createAuditLog({ path: join(dir, "missing", "audit.jsonl"), now });
    log.write(EVENT);
    log.write(EVENT);
    await log.close();
    const said = stderr.mock.calls.map((c) => String(c[0]));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^pipelock: audit log write failed: ENOENT/);
  });
});
