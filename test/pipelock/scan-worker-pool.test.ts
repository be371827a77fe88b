// The DLP scan pool with real worker threads, running pipelock's bundle as their entry point as
// the image does. Needs no Docker engine.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScanWorkerPool, type ScanWorkerPool } from "../../src/shared/dlp/index.js";
import { bundleForNode } from "../support/sidecars/bundle.js";

const SECRET = "pool-test-secret-value-0123";
let dir: string;
let entry: URL;
const pools: ScanWorkerPool[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "scan-pool-"));
  const bundle = join(dir, "pipelock.mjs");
  await bundleForNode("src/sidecars/pipelock/main.ts", bundle);
  entry = pathToFileURL(bundle);
}, 60_000);

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await rm(dir, { recursive: true, force: true });
});

function pool(
  options: { entry?: URL; threads?: number; scanTimeoutMs?: number; idleMs?: number } = {},
): ScanWorkerPool {
  const created = createScanWorkerPool({
    entry: options.entry ?? entry,
    scanner: { knownSecrets: [{ name: "TOKEN", value: SECRET }] },
    threads: options.threads ?? 2,
    ...(options.scanTimeoutMs === undefined ? {} : { scanTimeoutMs: options.scanTimeoutMs }),
    ...(options.idleMs === undefined ? {} : { idleMs: options.idleMs }),
  });
  pools.push(created);
  return created;
}

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("the DLP scan worker pool", () => {
  it("scans in a worker and hands the body back whole; the caller's buffer moved there", async () => {
    const p = pool();
    const body = Buffer.alloc(256 * 1024, "plain text, nothing to see\n");
    const digest = sha(body);
    const result = await p.scan({ path: "/upload", body: { bytes: body } });
    expect(result.verdict).toEqual({ status: "clean" });
    expect(body.length).toBe(0);
    expect(result.body?.length).toBe(256 * 1024);
    expect(sha(result.body as Uint8Array)).toBe(digest);
  });

  it("finds the known secret and credentials, and lets a secret through where allowed", async () => {
    const p = pool();
    const leak = () => Buffer.from(`${"x".repeat(100_000)} key=${SECRET} ${"y".repeat(100_000)}`);
    const found = await p.scan({ body: { bytes: leak() } });
    expect(found.verdict).toMatchObject({
      status: "findings",
      findings: [{ ruleId: "known-secret", secretName: "TOKEN", location: "body" }],
    });
    expect(JSON.stringify(found.verdict)).not.toContain(SECRET);
    const allowed = await p.scan({ body: { bytes: leak() } }, new Set(["TOKEN"]));
    expect(allowed.verdict).toEqual({ status: "clean" });
  });

  it("keeps each verdict with its own request when many are in flight", async () => {
    const p = pool({ threads: 2 });
    const bodies = Array.from({ length: 12 }, (_, i) =>
      Buffer.from(`${"z".repeat(70_000)}${i % 3 === 0 ? SECRET : "clean"}${"z".repeat(i)}`),
    );
    const lengths = bodies.map((b) => b.length);
    const results = await Promise.all(bodies.map((bytes) => p.scan({ body: { bytes } })));
    expect(results.map((r) => r.verdict.status)).toEqual(
      bodies.map((_, i) => (i % 3 === 0 ? "findings" : "clean")),
    );
    expect(results.map((r) => r.body?.length)).toEqual(lengths);
  });

  it("copies a body that shares its memory, leaving the neighbours alone", async () => {
    const p = pool();
    const backing = Buffer.alloc(200_000, "a");
    const slice = backing.subarray(1000, 150_000);
    const result = await p.scan({ body: { bytes: slice } });
    expect(result.verdict).toEqual({ status: "clean" });
    expect(backing.length).toBe(200_000);
    expect(result.body?.length).toBe(149_000);
  });

  it("fails the scans of a worker that dies, and the next scan starts another", async () => {
    const crashing = join(dir, "crash.mjs");
    await writeFile(crashing, "process.exit(3);\n");
    const p = pool({ entry: pathToFileURL(crashing), threads: 1 });
    const scan = () => p.scan({ body: { bytes: Buffer.from("anything") } });
    await expect(scan()).rejects.toThrow("the DLP scan worker exited (code 3)");
    await expect(scan()).rejects.toThrow("the DLP scan worker exited (code 3)");
  });

  it("ends a worker that does not answer in time, failing its scans", async () => {
    const silent = join(dir, "silent.mjs");
    // Takes scans and never answers, as a scan stuck in a loop would.
    await writeFile(
      silent,
      'import { parentPort } from "node:worker_threads";\nparentPort.on("message", () => {});\n',
    );
    const p = pool({ entry: pathToFileURL(silent), threads: 1, scanTimeoutMs: 300 });
    await expect(p.scan({ body: { bytes: Buffer.from("anything") } })).rejects.toThrow(
      "the DLP scan worker did not answer within 300 ms",
    );
  });

  it("ends its workers at close, and starts one again for a scan that comes after", async () => {
    const p = pool();
    const pending = p.scan({ body: { bytes: Buffer.alloc(300_000, "b") } });
    const closed = p.close();
    // close() waits for the scan in flight.
    expect((await pending).verdict).toEqual({ status: "clean" });
    await closed;
    const later = await p.scan({ body: { bytes: Buffer.from(`late ${SECRET}`) } });
    expect(later.verdict.status).toBe("findings");
  });

  it("ends a worker left idle, and starts another for the next scan", async () => {
    // pipelock's bundle as the entry, behind a module that notes each worker it starts.
    const starts = join(dir, "starts.log");
    const counting = join(dir, "counting.mjs");
    await writeFile(
      counting,
      `import { appendFileSync } from "node:fs";\nappendFileSync(${JSON.stringify(starts)}, "started\\n");\nawait import("./pipelock.mjs");\n`,
    );
    const started = async () =>
      (await readFile(starts, "utf8").catch(() => "")).split("\n").length - 1;
    const busy = pool({ entry: pathToFileURL(counting), threads: 1 });
    for (let i = 0; i < 3; i++) {
      const r = await busy.scan({ body: { bytes: Buffer.alloc(100_000, "c") } });
      expect(r.verdict).toEqual({ status: "clean" });
    }
    // Back to back: one worker served them all.
    expect(await started()).toBe(1);
    await busy.close();

    const idle = pool({ entry: pathToFileURL(counting), threads: 1, idleMs: 50 });
    expect((await idle.scan({ body: { bytes: Buffer.alloc(100_000, "d") } })).verdict.status).toBe(
      "clean",
    );
    expect(await started()).toBe(2);
    // Well past idleMs: that worker was ended; the next scan starts one and is answered.
    await new Promise((r) => setTimeout(r, 500));
    const later = await idle.scan({ body: { bytes: Buffer.from(`later ${SECRET}`) } });
    expect(later.verdict.status).toBe("findings");
    expect(await started()).toBe(3);
  });
});
