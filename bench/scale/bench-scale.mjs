// bench/scale: N bottles started at once, on Compose or on the tests' three-node swarm.
// For each N: the time from launching all N start CLIs until each bottle runs its command,
// the memory of each bottle's containers, and whether each bottle stays isolated from the
// others. One bottle alone first, as the baseline for the ratios. Everything is removed with
// `cleanup --all --yes` afterwards (also on error or Ctrl-C) and the engines are checked for
// leftovers.
//
// Usage: node bench/scale/bench-scale.mjs compose 10 25 50
//        node bench/scale/bench-scale.mjs compose-pool 50
//        node bench/scale/bench-scale.mjs swarm 10
// `compose-pool`: Compose bottles on a Docker engine of the bench's own, in a privileged
// container (the swarm fixture's node image), whose default address pool holds 256 networks:
// a stock engine's holds about 30, two per bottle.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { makeHome, ROOT, startBottles, tailOf, tearDown } from "./bottles.mjs";
import { bottleContainers, docker } from "./engines.mjs";
import {
  inBatches,
  memAvailable,
  memoryPerBottle,
  probePair,
  reached,
  treeRss,
} from "./measure.mjs";

const [backend = "compose", ...sizes] = process.argv.slice(2);
const counts = sizes.length > 0 ? sizes.map(Number) : [10];
if (!["compose", "compose-pool", "swarm"].includes(backend) || counts.some((n) => !(n >= 1))) {
  console.error("usage: node bench/scale/bench-scale.mjs compose|compose-pool|swarm N [N …]");
  process.exit(2);
}
const log = (m) => process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const MB = 1024 * 1024;

// Undo steps, newest first; run once, by the normal path or by a signal.
const undo = [];
let undoing = null;
function runUndo() {
  undoing ??= (async () => {
    while (undo.length > 0) {
      const step = undo.pop();
      try {
        await step();
      } catch (error) {
        log(`cleanup step failed: ${error.message}`);
      }
    }
  })();
  return undoing;
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    log(`${signal}: removing everything started`);
    runUndo().finally(() => process.exit(130));
  });
}

/** The backend's engines and the environment its CLIs need. */
async function prepareBackend() {
  if (backend === "compose") return { engines: [{ name: "host", dockerHost: null }], env: {} };
  const dir = mkdtempSync(join(tmpdir(), "cb-bench-scale-fixture-"));
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  const { build } = await import("esbuild");
  // Three levels below the root, as the fixture's own file is: it finds images/ by
  // import.meta.url.
  const bundle = join(ROOT, "node_modules/.cache/bench-scale", `swarm-fixture-${process.pid}.mjs`);
  undo.push(() => rmSync(bundle, { force: true }));
  await build({
    entryPoints: [join(ROOT, "bench/scale/swarm-fixture-entry.mjs")],
    outfile: bundle,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    logLevel: "warning",
  });
  const fixture = await import(bundle);
  const { VERSION } = await import(join(ROOT, "dist/shared/version.js"));
  const images = ["agent", "pipelock", "egress", "supervise", "node"].map(
    (i) => `claude-bottle/${i}:${VERSION}`,
  );
  // The CLI checks each image's inputs, the base image's ID among them: without the base a
  // start rebuilds, and looks for debian:bookworm-slim in a registry.
  if (backend === "compose-pool") {
    return startPoolEngine(fixture, dir, [...images, "claude-bottle-base:bookworm"]);
  }
  log("starting the three-node swarm fixture");
  const swarm = await fixture.startSwarm();
  undo.push(async () => {
    const left = await fixture.removeSwarm(swarm.id);
    log(`swarm ${swarm.id} removed; left: ${JSON.stringify(left)}`);
  });
  await fixture.labelNodeEngines(swarm);
  // Warm caches on both backends: the swarm's nodes get the bottle's images before the clock
  // starts, as the host has them for Compose (else every start would ship them to its node).
  const started = performance.now();
  await swarm.loadImages(images);
  log(`images loaded into the nodes in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return {
    engines: swarm.nodes.map((n) => ({ name: n.container, dockerHost: n.dockerHost })),
    env: { CLAUDE_BOTTLE_BACKEND: "swarm", CLAUDE_BOTTLE_SWARM_HOST: swarm.managerHost },
    fixtureMs: swarm.timings.totalMs,
  };
}

/**
 * A Docker engine in a privileged container, as the swarm fixture runs its nodes, with a
 * default address pool of 256 /24 networks; the homes live in a directory mounted at the same
 * path, so Compose's bind mounts of a bottle's state find their files; the bottle's images
 * loaded before the clock starts.
 */
async function startPoolEngine(fixture, dir, images) {
  const { tag } = await fixture.ensureNodeImage();
  const homes = join(dir, "homes");
  const sockets = join(dir, "sockets");
  mkdirSync(homes);
  mkdirSync(sockets);
  const host = { name: "host", dockerHost: null };
  const name = `cb-bench-scale-engine-${process.pid}`;
  undo.push(async () => {
    const r = await docker(host, ["rm", "-f", "-v", name]);
    log(`pool engine ${name} removed (exit ${r.code})`);
  });
  const run = await docker(host, [
    "run",
    "-d",
    "--privileged",
    "--name",
    name,
    "--label",
    "dev.claude-bottle.bench=scale",
    "--mount",
    "type=volume,dst=/var/lib/docker",
    "-v",
    `${sockets}:/run/swarm-host`,
    "-v",
    `${homes}:${homes}`,
    tag,
    "--host",
    "unix:///run/swarm-host/docker.sock",
    "--default-address-pool",
    "base=10.222.0.0/16,size=24",
  ]);
  if (run.code !== 0) throw new Error(`docker run of the pool engine failed: ${run.stderr}`);
  const engine = { name, dockerHost: `unix://${join(sockets, "docker.sock")}` };
  for (let i = 0; (await docker(engine, ["info"])).code !== 0; i++) {
    if (i > 120) throw new Error("the pool engine did not answer in 60 s");
    await new Promise((r) => setTimeout(r, 500));
  }
  const started = performance.now();
  const load = spawnSync(
    "sh",
    ["-c", `docker save "$@" | DOCKER_HOST=${engine.dockerHost} docker load -q`, "sh", ...images],
    { encoding: "utf8" },
  );
  if (load.status !== 0) throw new Error(`loading images failed: ${load.stderr}`);
  log(`pool engine up, images loaded in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return { engines: [engine], env: { DOCKER_HOST: engine.dockerHost }, homes };
}

const quantile = (xs, q) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const median = (xs) => quantile(xs, 0.5);

/** One N: start all at once, measure, probe, tear down. */
async function runOnce(n, { engines, env, homes }) {
  const home = makeHome(env, homes);
  const available = memAvailable();
  const bottles = [];
  const result = { n, bottles: [], failures: [], teardown: null };
  const down = async () => {
    log(`N=${n}: cleanup --all --yes`);
    result.teardown = await tearDown(home, bottles, engines, log);
  };
  undo.push(down);
  log(`N=${n}: launching ${n} start CLIs at once`);
  const started = await startBottles(home.env, n, {
    timeoutMs: Math.max(300_000, n * 20_000),
    log,
    bottles,
  });
  result.launchMs = started.launchMs;
  try {
    const running = bottles.filter((b) => b.runningMs !== null);
    for (const b of bottles.filter((x) => x.failure !== null)) {
      result.failures.push({ index: b.index, slug: b.slug, failure: b.failure, tail: tailOf(b) });
    }
    result.startMs = running.map((b) => b.runningMs);
    // Let the last starts' work settle before reading memory.
    await new Promise((r) => setTimeout(r, 5_000));
    const containers = await bottleContainers(engines, home.home);
    result.memory = await memoryPerBottle(containers);
    result.hostDropBytes = available - memAvailable();
    result.cliRss = treeRss(running.map((b) => b.child.pid));
    result.containers = containers.length;
    result.nodes = {};
    for (const c of containers.filter((x) => x.role === "agent")) {
      result.nodes[c.engine.name] = (result.nodes[c.engine.name] ?? 0) + 1;
    }
    // Each running bottle probes the next one (a ring): every bottle is once the prober and
    // once the target.
    const probed = running
      .map((b) => ({ slug: b.slug, containers: containers.filter((c) => c.slug === b.slug) }))
      .filter((b) => b.containers.some((c) => c.role === "agent"));
    if (probed.length >= 2) {
      log(`N=${n}: isolation probes, ${probed.length} pairs`);
      result.pairs = await inBatches(probed, 4, async (a, i) => {
        const b = probed[(i + 1) % probed.length];
        const sameEngine =
          a.containers.find((c) => c.role === "agent").engine ===
          b.containers.find((c) => c.role === "agent").engine;
        return { a: a.slug, b: b.slug, sameEngine, ...(await probePair(a, b)) };
      });
    }
  } finally {
    undo.pop();
    await down();
  }
  return result;
}

const fmtS = (ms) => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : "—");
const fmtMB = (bytes) => (Number.isFinite(bytes) ? (bytes / MB).toFixed(1) : "—");

function report(results, meta) {
  const alone = results[0];
  const aloneMs = median(alone.startMs);
  console.log(
    `\nbench/scale on ${backend}: ${meta.date}; ${cpus().length} cores, ${(meta.memTotal / 1024 ** 3).toFixed(0)} GiB; Node ${process.version}; ${meta.engine}; commit ${meta.commit}; load average ${meta.load}`,
  );
  console.log(
    "\nBottle: allowlist of 2 hosts, 1 route (Bearer token from the host's environment), supervise on: agent + pipelock + egress + supervise.\n",
  );
  console.log("#### Start: all N launched at once, until each runs its command\n");
  console.log(
    "| N | running | median s | p95 s | max s | median vs alone | teardown s | left after cleanup |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const r of results) {
    const left = r.teardown
      ? `${r.teardown.containers.length} containers, ${r.teardown.networks.length} networks`
      : "—";
    console.log(
      `| ${r.n === 1 ? "1 (alone)" : r.n} | ${r.startMs.length}/${r.n} | ${fmtS(median(r.startMs))} | ${fmtS(quantile(r.startMs, 0.95))} | ${fmtS(Math.max(...r.startMs))} | ${(median(r.startMs) / aloneMs).toFixed(2)}× | ${fmtS(r.teardown?.cleanupMs)} | ${left} |`,
    );
  }
  console.log("\n#### Memory per bottle (docker stats --no-stream, MB = MiB)\n");
  console.log(
    "| N | sidecars median | sidecars max | pipelock | egress | supervise | agent median | host MemAvailable drop per bottle | start CLI + children per bottle (processes) |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    const side = r.memory.map((m) => m.sidecarBytes);
    const role = (name) => fmtMB(median(r.memory.map((m) => m.roles[name] ?? Number.NaN)));
    const running = Math.max(1, r.startMs.length);
    console.log(
      `| ${r.n} | ${fmtMB(median(side))} | ${fmtMB(Math.max(...side))} | ${role("pipelock")} | ${role("egress")} | ${role("supervise")} | ${fmtMB(median(r.memory.map((m) => m.agentBytes)))} | ${fmtMB(r.hostDropBytes / running)} | ${fmtMB(median(r.cliRss.map((c) => c.bytes)))} (${median(r.cliRss.map((c) => c.processes))}) |`,
    );
  }
  console.log("\n#### Isolation: from each bottle's agent to the next bottle's containers\n");
  console.log(
    "| N | pairs | of them across nodes | probes of the other bottle | got through | own sidecars answering |",
  );
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results.filter((x) => x.pairs)) {
    const other = r.pairs.flatMap((p) => p.other);
    const own = r.pairs.flatMap((p) => p.own);
    console.log(
      `| ${r.n} | ${r.pairs.length} | ${r.pairs.filter((p) => !p.sameEngine).length} | ${other.length} | ${other.filter((o) => reached(o.outcome)).length} | ${own.filter((o) => o.outcome === "connected").length}/${own.length} |`,
    );
  }
  const outcomes = new Map();
  for (const o of results.flatMap((r) => (r.pairs ?? []).flatMap((p) => p.other))) {
    outcomes.set(o.outcome, (outcomes.get(o.outcome) ?? 0) + 1);
  }
  console.log(
    `\nWhat the kernel said to the probes of other bottles: ${[...outcomes].map(([k, v]) => `${k} ×${v}`).join(", ")}.`,
  );
  for (const r of results) {
    for (const p of r.pairs ?? []) {
      for (const o of p.other.filter((x) => reached(x.outcome))) {
        console.log(`- N=${r.n} GOT THROUGH: ${p.a} → ${o.target}: ${o.outcome}`);
      }
      for (const o of p.own.filter((x) => x.outcome !== "connected")) {
        console.log(`- N=${r.n} control failed: ${p.a} → ${o.target}: ${o.outcome}`);
      }
    }
    if (Object.keys(r.nodes).length > 1) {
      console.log(`- N=${r.n}: bottles per node ${JSON.stringify(r.nodes)}`);
    }
    // Failures grouped by the CLI's last line (the error), one bottle's tail as the example.
    const byError = new Map();
    for (const f of r.failures) {
      const key = f.tail.trim().split("\n").at(-1) || f.failure;
      byError.set(key, [...(byError.get(key) ?? []), f]);
    }
    for (const [error, group] of byError) {
      console.log(
        `- N=${r.n}: ${group.length} of ${r.n} starts failed (${group[0].failure}): ${error}\n\n  \`\`\`\n${group[0].tail.replace(/^/gm, "  ")}\n  \`\`\``,
      );
    }
    const left = r.teardown
      ? [...r.teardown.containers.map((c) => c.name), ...r.teardown.networks]
      : [];
    if (left.length > 0) console.log(`- N=${r.n} left after cleanup: ${left.join(", ")}`);
  }
}

function meta() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8", cwd: ROOT }).trim();
    } catch {
      return "?";
    }
  };
  const load = sh("cat", ["/proc/loadavg"]).split(" ").slice(0, 3).join(" ");
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit: sh("git", ["rev-parse", "--short", "HEAD"]),
    engine: `Docker Engine ${sh("docker", ["version", "-f", "{{.Server.Version}}"])}`,
    load,
    memTotal: Number(/MemTotal:\s+(\d+)/.exec(sh("cat", ["/proc/meminfo"]))?.[1] ?? 0) * 1024,
  };
}

try {
  const before = meta();
  const setup = await prepareBackend();
  const results = [];
  for (const n of [1, ...counts.filter((c) => c !== 1)]) {
    results.push(await runOnce(n, setup));
    const file = join(tmpdir(), `cb-bench-scale-${backend}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        results.map(({ bottles: _b, ...r }) => r),
        (k, v) => (k === "engine" ? v.name : v),
        1,
      ),
    );
    log(`results so far in ${file}`);
  }
  report(results, before);
  const after = meta();
  console.log(`\nLoad average after: ${after.load}.`);
  if (backend === "compose") {
    const stray = await docker({ name: "host", dockerHost: null }, [
      "ps",
      "-aq",
      "--filter",
      "label=dev.claude-bottle.slug",
    ]);
    log(
      `containers with a bottle label on the engine now (any home): ${stray.stdout.split("\n").filter(Boolean).length}`,
    );
  }
} finally {
  await runUndo();
}
