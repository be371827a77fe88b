// What is left of two side channels through pipelock: the choice channel (which clean request
// the agent sends: one path from a word list per request, log2(words) bits each) and the
// timing channel (the gaps between requests: a short or a long gap, one bit each). A real
// pipelock process (the built bundle) on loopback forwards plain-HTTP requests to a local
// upstream that decodes what it receives; the capacity is the bits that arrived right, per
// second, with pipelock's rate limit off (a bucket too large to matter) and on (the default,
// or --rate/--burst), after the burst is spent. Measures; never fails on speed.
//
//   npm run build && node bench/channel/bench-channel.mjs [--seconds 10] [--rate 20] [--burst 1000]
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mintCa } from "../../dist/shared/ca/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i], process.argv[i + 1]);
const SECONDS = Number(args.get("--seconds") ?? 10);
const RATE = Number(args.get("--rate") ?? 20);
const BURST = Number(args.get("--burst") ?? 1000);
/** 2,048 words: 11 bits a request. */
const WORDS = Array.from({ length: 2048 }, (_, i) => `w${i.toString(36)}x`);
const BITS_PER_WORD = Math.log2(WORDS.length);
/** Extra gap for a 1 in the timing channel, on top of the pace the limit allows. */
const GAP_MS = 25;

const log = (line) => process.stderr.write(`${line}\n`);

async function startUpstream() {
  const arrivals = [];
  const server = http.createServer((req, res) => {
    arrivals.push({ at: performance.now(), path: req.url ?? "" });
    res.writeHead(200, { "content-type": "text/plain", "content-length": 2 }).end("ok");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: server.address().port, arrivals };
}

async function startPipelock(dir, upstreamPort, limit) {
  const ca = await mintCa({ commonName: "bench channel CA", now: new Date() });
  writeFileSync(join(dir, "ca.pem"), ca.certPem);
  writeFileSync(join(dir, "ca-key.pem"), ca.keyPem);
  writeFileSync(
    join(dir, "pipelock.yaml"),
    JSON.stringify({
      allow: [`127.0.0.1:${upstreamPort}`],
      privateUpstreams: "allow",
      rateLimit: { perSecond: limit.perSecond, burst: limit.burst, hosts: [] },
      auditLog: join(dir, "audit.jsonl"),
    }),
  );
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "dist/sidecars/pipelock.mjs"),
      "run",
      "--config",
      join(dir, "pipelock.yaml"),
      "--listen",
      `127.0.0.1:${port}`,
      "--ca-cert",
      join(dir, "ca.pem"),
      "--ca-key",
      join(dir, "ca-key.pem"),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  child.stderr.on("data", (c) => {
    err += c;
  });
  for (let i = 0; i < 100 && !err.includes("listening"); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!err.includes("listening")) throw new Error(`pipelock did not start: ${err}`);
  return { child, port };
}

let agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(proxyPort, upstreamPort, path) {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: proxyPort,
        method: "GET",
        path: `http://127.0.0.1:${upstreamPort}${path}`,
        headers: { host: `127.0.0.1:${upstreamPort}` },
        agent,
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({ status: res.statusCode, retryAfter: Number(res.headers["retry-after"] ?? 0) }),
        );
      },
    );
    req.on("error", () => resolve({ status: 0, retryAfter: 0 }));
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spends the bucket's burst, so that what follows measures the sustained rate. */
async function drain(stack) {
  for (;;) {
    const r = await send(stack.port, stack.upstreamPort, "/drain");
    if (r.status === 429) return;
  }
}

/** The choice channel: random words, each retried after a 429 until it gets through. */
async function choice(stack, upstream, limited) {
  if (limited) await drain(stack);
  const sent = [];
  upstream.arrivals.length = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) {
    const word = WORDS[Math.floor(Math.random() * WORDS.length)];
    const r = await send(stack.port, stack.upstreamPort, `/c/${word}`);
    if (r.status === 200) sent.push(word);
    else if (r.status === 429) await sleep(1000 / (limited ? RATE : 1000) / 2);
  }
  const elapsed = (performance.now() - start) / 1000;
  const got = upstream.arrivals.filter((a) => a.path.startsWith("/c/")).map((a) => a.path.slice(3));
  let right = 0;
  for (let i = 0; i < Math.min(got.length, sent.length); i++) if (got[i] === sent[i]) right++;
  return { bits: right * BITS_PER_WORD, elapsed, requests: got.length };
}

/** The timing channel: one bit per gap, a base pace plus GAP_MS for a 1, read by threshold. */
async function timing(stack, upstream, limited) {
  if (limited) await drain(stack);
  // Under the limit the sender keeps a little under the rate, or its bits meet 429s.
  const base = limited ? 1250 / RATE : 0;
  const bits = [];
  upstream.arrivals.length = 0;
  const start = performance.now();
  // The first arrival is the reference every gap is measured from: it must get through.
  while ((await send(stack.port, stack.upstreamPort, "/t/start")).status !== 200) {
    await sleep(base);
  }
  while (performance.now() - start < SECONDS * 1000) {
    const bit = Math.random() < 0.5 ? 0 : 1;
    await sleep(base + bit * GAP_MS);
    const r = await send(stack.port, stack.upstreamPort, "/t/bit");
    if (r.status === 200) bits.push(bit);
    else if (r.status === 429) {
      // The bit did not arrive: say it again once a token is back.
      await sleep(r.retryAfter * 1000);
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  const at = upstream.arrivals.filter((a) => a.path.startsWith("/t/")).map((a) => a.at);
  const gaps = at.slice(1).map((t, i) => t - (at[i] ?? t));
  // The receiver's decoder: the gaps are two humps (a 0, a 1); it cuts between their quartiles.
  const sorted = [...gaps].sort((a, b) => a - b);
  const quartile = (q) => sorted[Math.floor((sorted.length - 1) * q)] ?? 0;
  const threshold = (quartile(0.25) + quartile(0.75)) / 2;
  let errors = 0;
  const n = Math.min(gaps.length, bits.length);
  for (let i = 0; i < n; i++) if ((gaps[i] > threshold ? 1 : 0) !== bits[i]) errors++;
  const p = n === 0 ? 0.5 : errors / n;
  // Capacity of a binary symmetric channel: 1 - H(p) bits per use.
  const h = p === 0 || p === 1 ? 0 : -p * Math.log2(p) - (1 - p) * Math.log2(1 - p);
  return { bits: n * Math.max(0, 1 - h), elapsed, requests: n, errorRate: p };
}

async function run(limit, limited) {
  const dir = mkdtempSync(join(tmpdir(), "bench-channel-"));
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const upstream = await startUpstream();
  const pipelock = await startPipelock(dir, upstream.port, limit);
  const stack = { port: pipelock.port, upstreamPort: upstream.port };
  try {
    return {
      choice: await choice(stack, upstream, limited),
      timing: await timing(stack, upstream, limited),
    };
  } finally {
    pipelock.child.kill("SIGTERM");
    await once(pipelock.child, "exit");
    upstream.server.close();
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

const commit = spawnSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], {
  encoding: "utf8",
}).stdout.trim();
const load = loadavg()
  .map((l) => l.toFixed(1))
  .join(" ");
log(`bench/channel: ${SECONDS} s per channel, limit ${RATE}/s burst ${BURST}, commit ${commit}`);
const off = await run({ perSecond: 100_000, burst: 1_000_000 }, false);
const on = await run({ perSecond: RATE, burst: BURST }, true);
const rate = (r) => r.bits / r.elapsed;
const rows = [
  [
    "choice (11 bits a request)",
    rate(off.choice),
    rate(on.choice),
    off.choice.requests,
    on.choice.requests,
  ],
  [
    "timing (1 bit a gap)",
    rate(off.timing),
    rate(on.timing),
    off.timing.requests,
    on.timing.requests,
  ],
];
console.log(
  `${new Date().toISOString()} commit ${commit}, load average ${load}, Node ${process.version}`,
);
console.log(
  `| channel | no limit (bit/s) | limit ${RATE}/s, burst ${BURST}, after the burst (bit/s) | ratio | requests (off / on) |`,
);
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const [name, a, b, ra, rb] of rows) {
  console.log(
    `| ${name} | ${a.toFixed(0)} | ${b.toFixed(1)} | ${b > 0 ? (a / b).toFixed(1) : "∞"} | ${ra} / ${rb} |`,
  );
}
console.log(
  `timing error rates: no limit ${(off.timing.errorRate * 100).toFixed(1)}%, limit ${(on.timing.errorRate * 100).toFixed(1)}%; ` +
    `a spent burst of ${BURST} also carries ${(BURST * BITS_PER_WORD).toFixed(0)} bits once.`,
);
