// The pipelock bundle as its image runs it: one file, `node pipelock.mjs run …`, no
// node_modules next to it, reloading on SIGHUP, stopping on SIGTERM. Needs no Docker engine;
// everything listens on 127.0.0.1.
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ProxyAgent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MintedCa, mintCa, mintLeafCertificate } from "../../src/shared/ca/index.js";
import { useSidecarBundle } from "../support/sidecars/sidecar-process.js";

const SECRET = "process-level-secret-value";
const pipelock = useSidecarBundle("src/sidecars/pipelock/main.ts", "pipelock");
let dir: string;
let bottleCa: MintedCa;
let upstream: Server;
let upstreamPort: number;

beforeAll(async () => {
  dir = pipelock.dir;
  const now = new Date();
  bottleCa = await mintCa({ commonName: "bottle", now });
  const internet = await mintCa({ commonName: "internet", now });
  const leaf = await mintLeafCertificate(internet, "127.0.0.1", { now });
  upstream = createServer({ cert: leaf.chainPem, key: leaf.keyPem }, (req, res) => {
    const digest = createHash("sha256");
    let length = 0;
    req.on("data", (chunk: Buffer) => {
      digest.update(chunk);
      length += chunk.length;
    });
    req.on("end", () =>
      res.end(req.url === "/count" ? `${length} ${digest.digest("hex")}` : "upstream ok\n"),
    );
  });
  upstream.listen(0, "127.0.0.1");
  await once(upstream, "listening");
  upstreamPort = (upstream.address() as AddressInfo).port;
  await writeFile(join(dir, "ca.pem"), bottleCa.certPem);
  await writeFile(join(dir, "ca-key.pem"), bottleCa.keyPem);
  await writeFile(join(dir, "internet.pem"), internet.certPem);
}, 60_000);

afterAll(() => {
  upstream?.close();
});

interface Started {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
}

async function runPipelock(config: string): Promise<Started> {
  const configPath = join(dir, "pipelock.yaml");
  await writeFile(configPath, config);
  const p = pipelock.run(
    [
      "run",
      "--config",
      configPath,
      "--listen",
      "127.0.0.1:0",
      "--ca-cert",
      join(dir, "ca.pem"),
      "--ca-key",
      join(dir, "ca-key.pem"),
    ],
    { PIPELOCK_UPSTREAM_CA_FILE: join(dir, "internet.pem"), PIPELOCK_SECRET_0: SECRET },
  );
  const err = () => p.output().stderr;
  const port = await waitFor(() => /listening on 127\.0\.0\.1:(\d+)/.exec(err())?.[1], err);
  return { child: p.child, port: Number(port), stdout: () => p.output().stdout, stderr: err };
}

async function waitFor<T>(probe: () => T | undefined, context: () => string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${context()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function fetchVia(
  port: number,
  init: { headers?: Record<string, string>; body?: Buffer; path?: string } = {},
) {
  const agent = new ProxyAgent({
    uri: `http://127.0.0.1:${port}`,
    requestTls: { ca: bottleCa.certPem },
  });
  try {
    const { path = "/x", ...rest } = init;
    const res = await request(`https://127.0.0.1:${upstreamPort}${path}`, {
      ...rest,
      ...(rest.body === undefined ? {} : { method: "POST" }),
      dispatcher: agent,
    });
    return { status: res.statusCode, body: await res.body.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  } finally {
    await agent.close();
  }
}

/** The status pipelock's health path answers with, or 0 when nothing answers. */
async function healthStatus(port: number): Promise<number> {
  try {
    const res = await request(`http://127.0.0.1:${port}/__pipelock/healthz`);
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

describe("pipelock bundle", () => {
  it("serves, reloads on SIGHUP, audits to stdout and stops on SIGTERM", async () => {
    const p = await runPipelock("allow: []\ndlp: { secretEnv: [PIPELOCK_SECRET_0] }\n");
    expect(await healthStatus(p.port)).toBe(200);

    expect((await fetchVia(p.port)).status).not.toBe(200);
    await writeFile(
      join(dir, "pipelock.yaml"),
      `allow: ["127.0.0.1:${upstreamPort}"]\ndlp: { secretEnv: [PIPELOCK_SECRET_0] }\n`,
    );
    p.child.kill("SIGHUP");
    await waitFor(
      () => (p.stderr().includes("policy reloaded, 1 allow rules") ? true : undefined),
      p.stderr,
    );
    expect(await fetchVia(p.port)).toEqual({ status: 200, body: "upstream ok\n" });

    const blocked = await fetchVia(p.port, { headers: { "x-leak": SECRET } });
    expect(blocked.status).toBe(403);
    expect(blocked.body).toContain(
      "the value of secret PIPELOCK_SECRET_0 (rule known-secret) in header:x-leak",
    );

    const lines = p
      .stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { decision: string });
    expect(lines.map((l) => l.decision)).toContain("dlp_block");
    expect(p.stdout()).not.toContain(SECRET);

    p.child.kill("SIGTERM");
    const [code] = await once(p.child, "exit");
    expect(code).toBe(0);
    expect(await healthStatus(p.port)).toBe(0);
  });

  it("scans large bodies in its worker threads: secrets anywhere in them refused, clean ones sent whole", async () => {
    const p = await runPipelock(
      `allow: ["127.0.0.1:${upstreamPort}"]\ndlp: { secretEnv: [PIPELOCK_SECRET_0] }\n`,
    );
    // Past the size scanned inline, and a few MiB: the whole body is read and scanned.
    const clean = Buffer.alloc(3 * 1024 * 1024 + 11, "const value = compute(input);\n");
    const sent = await fetchVia(p.port, { path: "/count", body: clean });
    expect(sent).toEqual({
      status: 200,
      body: `${clean.length} ${createHash("sha256").update(clean).digest("hex")}`,
    });

    const withSecret = Buffer.concat([clean, Buffer.from(`token=${SECRET}\n`), clean]);
    const blocked = await fetchVia(p.port, { path: "/count", body: withSecret });
    expect(blocked.status).toBe(403);
    expect(blocked.body).toContain(
      "the value of secret PIPELOCK_SECRET_0 (rule known-secret) in body",
    );

    const gzipped = await fetchVia(p.port, {
      path: "/count",
      body: gzipSync(withSecret),
      headers: { "content-encoding": "gzip" },
    });
    expect(gzipped.status).toBe(403);

    // Many at once, spread over the workers; each verdict belongs to its own request.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        fetchVia(p.port, { path: "/count", body: i % 2 === 0 ? clean : withSecret }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 403, 200, 403, 200, 403, 200, 403]);
    expect(p.stdout()).not.toContain(SECRET);
  });

  it("exits 2 with the file position on a bad policy", async () => {
    const configPath = join(dir, "bad.yaml");
    await writeFile(configPath, "allow: ['*']\n");
    const run = pipelock.run(["run", "--config", configPath, "--listen", "127.0.0.1:0"], {});
    const code = await run.exited;
    const err = run.output().stderr;
    expect(code).toBe(2);
    expect(err).toContain(
      `${configPath}:1:9: allow[0]: "*" would allow every host; list hosts one by one`,
    );
    expect(err).toContain("hint: fix pipelock's policy file");
  });
});
