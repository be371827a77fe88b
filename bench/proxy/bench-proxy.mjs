// bench/proxy: what pipelock and egress cost per request, side by side in one run with no
// proxy and with mitmproxy and Squid doing the same interception, all on 127.0.0.1:
//   direct               client → HTTPS upstream (localhost:443)
//   pipelock             client → pipelock (allowlist, TLS interception, DLP) → upstream
//   egress → pipelock    client → egress (TLS interception, token injected) → pipelock → upstream
//   mitmproxy            client → mitmdump (TLS interception) → upstream
//   Squid                client → squid (ssl-bump, one worker, no cache) → upstream
// for small keep-alive requests, a new connection per request, and 1 MiB uploads; then DLP
// scan throughput, pipelock's engine against gitleaks, on one generated corpus.
// Prints markdown tables with ratios. Measures only: the exit code says nothing about speed.
// Usage: npm run build && node bench/proxy/bench-proxy.mjs [--quick] [--rounds N] [--keep]
//   [--cpu-prof DIR] [--bare-node | --compare-bare] [--no-mitmproxy] [--no-squid] [--no-dlp]
//   (pipelock and egress run with the node flags of their images' ENTRYPOINT, as in a bottle;
//   --bare-node runs them without any; --compare-bare adds a pipelock and an egress without
//   any as paths of their own, measured in turn with the others under the same load)
//        node bench/proxy/bench-proxy.mjs --dlp-only [--quick] [--keep]
//   (the DLP table alone: no root, port 443, hey, mitmdump or squid needed)
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benchDlp } from "./dlp-bench.mjs";
import { findHey, runHeyNewConnections } from "./hey-load.mjs";
import { createDispatcher, requestStatus, runLoad, summarize } from "./load.mjs";
import { killAllNow, stopAll } from "./processes.mjs";
import { dlpTable, scenarioTable, targetsSection } from "./report.mjs";
import { sourceText } from "./source-text.mjs";
import {
  imageNodeFlags,
  prepareStack,
  ROOT,
  startEgress,
  startMitmdump,
  startPipelock,
  startSquid,
  startUpstream,
  UPSTREAM_HOST,
  UPSTREAM_PORT,
  upstreamHandshakes,
} from "./stack.mjs";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const keep = args.includes("--keep");
const dlpOnly = args.includes("--dlp-only");
const bareNode = args.includes("--bare-node");
const compareBare = args.includes("--compare-bare") && !bareNode;
const noMitmproxy = args.includes("--no-mitmproxy");
const noSquid = args.includes("--no-squid");
const noDlp = args.includes("--no-dlp");
const option = (name) => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};
// pipelock's and egress's CPU profiles (node --cpu-prof), written when they stop.
const cpuProfDir = option("--cpu-prof") && resolve(option("--cpu-prof"));
const rounds = Number(option("--rounds") ?? 0) || (quick ? 1 : 2);
const CONCURRENCY = 50;
const UPLOAD_BYTES = 1024 * 1024;
// A kept-alive round stops at its request count or at this time, whichever comes first.
const MAX_RUN_MS = 8_000;
const scale = quick ? 0.1 : 1;
const DLP = { mib: quick ? 4 : 32, runs: quick ? 1 : 3 };

// Per round and path: `warmup` requests (connections opened, leaves minted) then `total`.
const PACED_RATE = 20;
const SCENARIOS = [
  {
    id: "paced",
    title: "Small requests, keep-alive, at a steady 1,000 requests/s",
    describe: `GET of a 3-byte answer; ${CONCURRENCY} concurrent clients, each on its own kept-alive connection and paced to ${PACED_RATE} requests/s (${CONCURRENCY * PACED_RATE} requests/s in all, well under every path's capacity): the latency a request sees when the proxy is not saturated, as an agent's requests find it.`,
    warmup: 1000,
    total: 7_000,
    perClientRate: PACED_RATE,
  },
  {
    id: "keepalive",
    title: "Small requests, keep-alive, as fast as they go",
    describe: `GET of a 3-byte answer; ${CONCURRENCY} concurrent clients in a closed loop, each on its own kept-alive connection: capacity, and latency under saturation.`,
    warmup: 1000,
    total: 10_000,
  },
  {
    id: "newconn",
    title: "New connection per request",
    describe: `GET of a 3-byte answer; ${CONCURRENCY} concurrent clients, each request on a new connection (TCP, CONNECT, full TLS handshake: no session resumption).`,
    warmup: 100,
    total: 2000,
    newConnection: true,
  },
  {
    id: "upload",
    title: "1 MiB uploads",
    describe: `POST of 1 MiB of source-like text (clean: pipelock scans it whole and lets it through); ${CONCURRENCY} concurrent clients, keep-alive.`,
    warmup: 50,
    total: 1000,
    upload: true,
  },
];

const log = (line) => process.stderr.write(`${line}\n`);

function requireBuilt() {
  const missing = [
    "dist/sidecars/pipelock.mjs",
    "dist/sidecars/egress.mjs",
    "dist/shared/ca/index.js",
  ]
    .map((p) => join(ROOT, p))
    .filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(", ")}: run \`npm run build\` first`);
  }
}

async function requirePort443Free() {
  await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error) =>
      reject(
        new Error(
          `cannot listen on 127.0.0.1:${UPSTREAM_PORT} for the upstream (${error.code}): egress injects tokens only on port 443, so the bench needs it (root, or another bench still running?)`,
        ),
      ),
    );
    server.listen(UPSTREAM_PORT, "127.0.0.1", () => server.close(resolve));
  });
}

/** $MITMDUMP, or mitmdump on PATH, or Debian's unpacked by fetch-mitmproxy.sh; else undefined. */
function findMitmdump() {
  if (process.env.MITMDUMP) return process.env.MITMDUMP;
  log("looking for mitmdump (bench/proxy/fetch-mitmproxy.sh; the first time it unpacks Debian's)");
  const r = spawnSync("bash", [join(ROOT, "bench/proxy/fetch-mitmproxy.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const path = r.stdout.trim().split("\n").at(-1);
  return r.status === 0 && path ? path : undefined;
}

function mitmproxyVersion(mitmdump) {
  const r = spawnSync(mitmdump, ["--version"], { encoding: "utf8" });
  return /Mitmproxy: (\S+)/.exec(r.stdout ?? "")?.[1] ?? "unknown";
}

/**
 * $SQUID, or Debian's /usr/sbin/squid, with its certificate helper; built with TLS, which
 * ssl-bump needs (Debian's squid-openssl, not squid). `{ missing }` says why not.
 */
function findSquid() {
  const binary = process.env.SQUID ?? "/usr/sbin/squid";
  const certgen = "/usr/lib/squid/security_file_certgen";
  if (!existsSync(binary)) return { missing: `no ${binary}` };
  const v = spawnSync(binary, ["-v"], { encoding: "utf8" });
  if (v.status !== 0) return { missing: `${binary} -v failed: ${v.stderr ?? v.error}` };
  if (!v.stdout.includes("--with-openssl")) return { missing: `${binary} is built without TLS` };
  if (!existsSync(certgen)) return { missing: `no ${certgen}` };
  const version = /Version (\S+)/.exec(v.stdout)?.[1] ?? "unknown";
  return { binary, certgen, version };
}

/**
 * That DLP is on where it should be: a request carrying a credential-shaped header is refused
 * (403) on every path through pipelock and answered on every other. Returns the line to print.
 */
async function probeDlp(paths) {
  // GitHub-token-shaped, made at run time: valid nowhere.
  const credential = `gh${"p_"}${randomBytes(18).toString("hex")}`;
  const refusedBy = [];
  for (const path of paths) {
    const dispatcher = createDispatcher({ proxyPort: path.port, ca: path.ca, concurrency: 1 });
    const headers = { ...requestHeaders(path), "x-bench-probe": credential };
    const url = `https://${UPSTREAM_HOST}/`;
    const status = await requestStatus({ dispatcher, url, headers }).finally(() =>
      dispatcher.destroy(),
    );
    const expected = path.audit === undefined ? 200 : 403;
    if (status !== expected) {
      throw new Error(
        `DLP probe: ${path.label} answered ${status} to a request carrying a credential-shaped header, not ${expected}`,
      );
    }
    if (status === 403) refusedBy.push(path.label);
  }
  return `DLP on: before measuring, a request with a GitHub-token-shaped header was refused (403) through ${refusedBy.join("; ")}, and answered 200 on every other path.`;
}

// The upstream answers 401 unless the token arrived exactly on the egress path, where the
// client's own Authorization must be replaced.
const requestHeaders = (path) =>
  path.id === "egress" || path.id === "egress-bare"
    ? { "x-bench-expect-token": "yes", authorization: "Bearer agent-placeholder" }
    : { "x-bench-expect-token": "no" };

function countConnects(auditPath) {
  if (!existsSync(auditPath)) return 0;
  return readFileSync(auditPath, "utf8").split('"method":"CONNECT"').length - 1;
}

/** CPU time (user + system, every thread) the processes have used so far, from /proc. */
function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  // USER_HZ, 100 on Linux.
  return ticks / 100;
}

/** What the proxies did while measuring, from the outside: upstream TLS connections, CONNECTs. */
async function counters(stack, path) {
  return {
    handshakes: await upstreamHandshakes(stack),
    connects: path.audit === undefined ? undefined : countConnects(path.audit),
  };
}

/** One round of one path: a warm-up on fresh connections, then the measured requests. */
async function measureOnce({ scenario, path, stack, hey, body }) {
  const load = {
    url: `https://${UPSTREAM_HOST}/`,
    concurrency: CONCURRENCY,
    headers: requestHeaders(path),
  };
  const count = (n) => Math.max(CONCURRENCY, Math.ceil(n * scale));
  let measure;
  let dispatcher;
  if (scenario.newConnection) {
    const headers = Object.entries(load.headers).map(([name, value]) => `${name}: ${value}`);
    measure = (total) =>
      runHeyNewConnections({ ...load, hey, proxyPort: path.port, headers, total });
  } else {
    dispatcher = createDispatcher({
      proxyPort: path.port,
      ca: path.ca,
      concurrency: CONCURRENCY,
    });
    const options = {
      ...load,
      dispatcher,
      maxMs: MAX_RUN_MS,
      body: scenario.upload ? body : undefined,
      perClientRate: scenario.perClientRate,
    };
    measure = (total) => runLoad({ ...options, total });
  }
  try {
    await measure(count(scenario.warmup));
    const before = await counters(stack, path);
    const cpuBefore = cpuSeconds(path.pids);
    const upstreamBefore = cpuSeconds([stack.upstreamPid]);
    const run = await measure(count(scenario.total));
    run.proxiesCpuS = cpuSeconds(path.pids) - cpuBefore;
    run.upstreamCpuS = cpuSeconds([stack.upstreamPid]) - upstreamBefore;
    const after = await counters(stack, path);
    run.handshakes = after.handshakes - before.handshakes;
    if (path.audit !== undefined) run.connects = after.connects - before.connects;
    return run;
  } finally {
    await dispatcher?.destroy();
  }
}

/** Paths take turns round by round, so a busy moment of the machine is shared among them. */
async function measureScenario({ scenario, paths, stack, hey, body }) {
  const runs = new Map(paths.map((p) => [p.id, []]));
  for (let round = 0; round < rounds; round++) {
    for (const path of paths) {
      const run = await measureOnce({ scenario, path, stack, hey, body });
      runs.get(path.id).push(run);
      log(
        `${scenario.id} round ${round + 1}/${rounds} ${path.id}: ${run.done} requests in ${(run.elapsedMs / 1000).toFixed(1)} s, ${run.errors} errors`,
      );
    }
  }
  return paths.map((path) => {
    const list = runs.get(path.id);
    const result = summarize(list, scenario.upload ? body.length : undefined);
    result.handshakes = list.reduce((n, r) => n + r.handshakes, 0);
    if (path.audit !== undefined) result.connects = list.reduce((n, r) => n + r.connects, 0);
    return { path, result };
  });
}

function machineLine({ mitmVersion, squidVersion, loadBefore, loadAfter, sidecarFlags }) {
  const commit = spawnSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], {
    encoding: "utf8",
  });
  return [
    `Date: ${new Date().toISOString()}`,
    `machine: ${availableParallelism()} cores (nproc), ${cpus()[0]?.model ?? "unknown CPU"}`,
    `Node ${process.version}`,
    `mitmproxy ${mitmVersion ?? "not run"}`,
    `Squid ${squidVersion ?? "not run"}`,
    `node flags: pipelock ${sidecarFlags.pipelock.join(" ") || "none"}, egress ${sidecarFlags.egress.join(" ") || "none"}`,
    `commit ${commit.stdout.trim() || "unknown"}`,
    // Other work on the machine shows here: the bench itself keeps about two cores busy.
    `load average ${loadBefore.toFixed(1)} before the proxy runs, ${loadAfter.toFixed(1)} after`,
  ].join("; ");
}

async function mainDlpOnly(dir) {
  log(`temp dir ${dir}`);
  const loadBefore = loadavg()[0];
  const dlp = await benchDlp({ dir, mib: DLP.mib, runs: DLP.runs, log });
  const loadAfter = loadavg()[0];
  const out = [
    `## bench/proxy --dlp-only${quick ? " (--quick: a 4 MiB corpus, not for the record)" : ""}`,
    "",
    dlpMachineLine({ loadBefore, loadAfter }),
    "",
    dlpTable(dlp),
    "",
  ];
  process.stdout.write(out.join("\n"));
}

function dlpMachineLine({ loadBefore, loadAfter }) {
  const commit = spawnSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], {
    encoding: "utf8",
  });
  return [
    `Date: ${new Date().toISOString()}`,
    `machine: ${availableParallelism()} cores (nproc), ${cpus()[0]?.model ?? "unknown CPU"}`,
    `Node ${process.version}`,
    `commit ${commit.stdout.trim() || "unknown"}`,
    `load average ${loadBefore.toFixed(1)} before the DLP runs, ${loadAfter.toFixed(1)} after`,
  ].join("; ");
}

/** --compare-bare: a pipelock and an egress (through it) run without the images' node flags. */
async function startBare(stack, profile) {
  const pipelock = await startPipelock(stack, {
    name: "pipelock-bare",
    trust: "system",
    nodeArgs: profile,
  });
  const egress = await startEgress(stack, {
    name: "egress-bare",
    pipelockPort: pipelock.port,
    nodeArgs: profile,
  });
  return {
    paths: (read) => [
      {
        id: "pipelock-bare",
        label: "pipelock, no node flags",
        port: pipelock.port,
        ca: read(pipelock.ca),
        audit: pipelock.audit,
        pids: [pipelock.proc.child.pid],
      },
      {
        id: "egress-bare",
        label: "egress → pipelock, no node flags",
        port: egress.port,
        ca: read(egress.ca),
        audit: pipelock.audit,
        pids: [egress.proc.child.pid, pipelock.proc.child.pid],
      },
    ],
  };
}

async function main(dir) {
  if (dlpOnly) return mainDlpOnly(dir);
  requireBuilt();
  const hey = findHey();
  if (hey === undefined)
    throw new Error("no hey on the PATH: `apt-get install hey` (Debian's package)");
  await requirePort443Free();
  const mitmdump = noMitmproxy ? undefined : findMitmdump();
  if (mitmdump === undefined) log("no mitmdump: the mitmproxy rows are left out");
  const mitmVersion = mitmdump && mitmproxyVersion(mitmdump);
  const squid = noSquid ? undefined : findSquid();
  if (squid?.missing !== undefined) {
    log(
      `no usable Squid (${squid.missing}): the Squid rows are left out. It is Debian's squid-openssl package (apt-get install squid-openssl), the build with TLS interception.`,
    );
  }
  const squidVersion = squid?.missing === undefined ? squid?.version : undefined;

  log(`temp dir ${dir}`);
  const stack = await prepareStack(dir);
  stack.upstreamPid = (await startUpstream(stack)).child.pid;
  const profile = cpuProfDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", cpuProfDir];
  // The flags each image's ENTRYPOINT gives node (heap sizes, GC threads), unless --bare-node.
  const sidecarFlags = {
    pipelock: bareNode ? [] : imageNodeFlags("pipelock"),
    egress: bareNode ? [] : imageNodeFlags("egress"),
  };
  log(`node flags: ${JSON.stringify(sidecarFlags)}`);
  const pipelockArgs = [...sidecarFlags.pipelock, ...profile];
  const pipelock = await startPipelock(stack, {
    name: "pipelock",
    trust: "system",
    nodeArgs: pipelockArgs,
  });
  const pipelockEnv = await startPipelock(stack, {
    name: "pipelock-ca-file",
    trust: "env",
    nodeArgs: pipelockArgs,
  });
  const egress = await startEgress(stack, {
    pipelockPort: pipelock.port,
    nodeArgs: [...sidecarFlags.egress, ...profile],
  });
  const bare = compareBare ? await startBare(stack, profile) : undefined;
  const mitm = mitmdump ? await startMitmdump(stack, mitmdump) : undefined;
  const squidProxy = squidVersion ? await startSquid(stack, squid) : undefined;
  const read = (path) => readFileSync(path, "utf8");
  /** A peer proxy's path (mitmproxy, Squid), or nothing when it did not start. */
  const peerPath = (id, label, proxy) =>
    proxy && { id, label, port: proxy.port, ca: read(proxy.ca), pids: [proxy.proc.child.pid] };
  const paths = [
    { id: "direct", label: "direct", ca: read(stack.files.upstreamCa), pids: [] },
    {
      id: "pipelock",
      label: "pipelock",
      port: pipelock.port,
      ca: read(pipelock.ca),
      audit: pipelock.audit,
      pids: [pipelock.proc.child.pid],
    },
    {
      id: "pipelock-ca-file",
      label: "pipelock, PIPELOCK_UPSTREAM_CA_FILE",
      port: pipelockEnv.port,
      ca: read(pipelockEnv.ca),
      audit: pipelockEnv.audit,
      pids: [pipelockEnv.proc.child.pid],
    },
    {
      id: "egress",
      label: "egress → pipelock",
      port: egress.port,
      ca: read(egress.ca),
      audit: pipelock.audit,
      pids: [egress.proc.child.pid, pipelock.proc.child.pid],
    },
    ...(bare?.paths(read) ?? []),
    peerPath("mitmproxy", `mitmproxy ${mitmVersion}`, mitm),
    peerPath("squid", `Squid ${squidVersion}`, squidProxy),
  ].filter(Boolean);
  const dlpLine = await probeDlp(paths);
  log(dlpLine);

  const body = Buffer.from(sourceText(UPLOAD_BYTES, 424242));
  const results = { concurrency: CONCURRENCY };
  const loadBefore = loadavg()[0];
  for (const scenario of SCENARIOS) {
    results[scenario.id] = await measureScenario({ scenario, paths, stack, hey, body });
  }
  const loadAfter = loadavg()[0];
  await stopAll();

  const dlp = noDlp ? undefined : await benchDlp({ dir, mib: DLP.mib, runs: DLP.runs, log });

  const out = [
    `## bench/proxy${quick ? " (--quick: a tenth of the requests, not for the record)" : ""}`,
    "",
    machineLine({ mitmVersion, squidVersion, loadBefore, loadAfter, sidecarFlags }),
    "",
    `${rounds} round(s) per path, pooled: req/s over the summed time, percentiles over all requests. Every process (load generator, upstream, proxies) shares the same ${availableParallelism()} cores. Paths:`,
    "",
    "- direct: the client speaks TLS to the upstream (localhost:443) itself.",
    "- pipelock: DLP on, as in a bottle (action block; every request's target, headers and body scanned; the route's token a known secret allowed to localhost only); trusts the upstream's CA through Node's own store (NODE_EXTRA_CA_CERTS), as it trusts a public host: no CA option.",
    "- pipelock, PIPELOCK_UPSTREAM_CA_FILE: the same pipelock with the upstream's CA given through its option for private CAs.",
    "- egress → pipelock: egress intercepts, injects the route's token (the upstream checks every request carried it) and sends on through the first pipelock.",
    ...(mitm
      ? [
          "- mitmproxy: mitmdump --quiet, trusting the upstream's CA by ssl_verify_upstream_trusted_ca.",
        ]
      : []),
    ...(squidProxy
      ? [
          "- Squid: squid -N, one worker, bumping every CONNECT (SNI peeked at step 1, then bump all; leaves minted by its certgen helper and kept in memory), no cache, no access log, trusting the upstream's CA by tls_outgoing_options cafile.",
        ]
      : []),
    ...(bare
      ? [
          "- … , no node flags: the same pipelock and egress → pipelock run as `node NAME.mjs`, without their images' node flags.",
        ]
      : []),
    "",
    dlpLine,
    "",
    ...SCENARIOS.flatMap((s) => [scenarioTable(s, results[s.id]), ""]),
    targetsSection(results),
    "",
    ...(dlp === undefined ? [] : [dlpTable(dlp), ""]),
  ];
  process.stdout.write(out.join("\n"));
}

const dir = mkdtempSync(join(tmpdir(), "cb-bench-proxy-"));
let interrupted = false;
// Children die with the bench, however it ends.
process.on("exit", killAllNow);
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
]) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping everything the bench started`);
    stopAll().finally(() => {
      if (!keep) rmSync(dir, { recursive: true, force: true });
      process.exit(code);
    });
  });
}
try {
  await main(dir);
  if (!keep) rmSync(dir, { recursive: true, force: true });
} catch (error) {
  // Once interrupted, requests fail because their peers were stopped: nothing to report.
  if (!interrupted) {
    process.exitCode = 1;
    log(`bench/proxy failed: ${error instanceof Error ? error.message : String(error)}`);
    if (readdirSync(dir).length > 0) log(`logs and files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await stopAll();
}
