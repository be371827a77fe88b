// N bottles started at once through the built CLI, as N users would type
// `claude-bottle start scale --yes --exec 'sleep 3600'`, in a home of the bench's own; and
// their removal with `cleanup --all --yes` from that home, checked against the engines.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bottleContainers, bottleNetworks } from "./engines.mjs";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "dist/cli/main.js");
const EXEC = "sleep 3600";

// A realistic bottle: an allowlist, one route whose token comes from the host's environment,
// supervise on. So pipelock, egress and supervise run beside the agent; no git upstream.
const BOTTLE = `---
egress:
  allow: [api.scale.test, docs.scale.test]
  routes:
    - host: api.scale.test
      paths: ["/v1/"]
      auth: { scheme: Bearer, token_env: SCALE_BENCH_TOKEN }
supervise: true
---
`;

/** A home (under `parent`) with the bench's agent and bottle; `env` is what every CLI call runs with. */
export function makeHome(backendEnv, parent = tmpdir()) {
  const home = realpathSync(mkdtempSync(join(parent, "cb-bench-scale-")));
  mkdirSync(join(home, "bottles"));
  mkdirSync(join(home, "agents"));
  writeFileSync(join(home, "bottles/scale.md"), BOTTLE);
  writeFileSync(join(home, "agents/scale.md"), "---\nbottle: scale\n---\nscale bench\n");
  const env = {
    ...process.env,
    ...backendEnv,
    CLAUDE_BOTTLE_HOME: home,
    SCALE_BENCH_TOKEN: "scale-bench-token-3f1c9a",
  };
  return { home, env };
}

/** Runs the CLI to completion: { code, stdout, stderr, ms }. */
export function runCli(env, args, timeoutMs = 900_000) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      env,
      cwd: env.CLAUDE_BOTTLE_HOME,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

/**
 * Launches `n` start CLIs back to back (no waiting between them) and resolves when each has
 * printed "running: sleep 3600" (the agent is provisioned and runs its command), has exited,
 * or `timeoutMs` has passed. Each bottle (pushed to `bottles` as it is launched, so that a
 * teardown during the wait finds them all): { index, slug, child, runningMs, failure, lines },
 * `runningMs` counted from the moment the first CLI was launched; `lines` are its stderr
 * lines, each with its time in the same clock.
 */
export async function startBottles(env, n, { timeoutMs, log, bottles = [] }) {
  const t0 = performance.now();
  for (let index = 0; index < n; index++) {
    const child = spawn(process.execPath, [CLI, "start", "scale", "--yes", "--exec", EXEC], {
      env,
      cwd: env.CLAUDE_BOTTLE_HOME,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const bottle = { index, slug: null, child, runningMs: null, failure: null, lines: [] };
    let partial = "";
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      const now = performance.now() - t0;
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const text of parts) {
        bottle.lines.push({ ms: now, text });
        bottle.slug ??= /instance\s+(\S+)/.exec(text)?.[1] ?? null;
        if (bottle.runningMs === null && text.includes(`running: ${EXEC}`)) {
          bottle.runningMs = now;
          log(`bottle ${index + 1}/${n} ${bottle.slug} running at ${(now / 1000).toFixed(1)} s`);
        }
      }
    });
    child.stdout.resume();
    child.on("exit", (code, signal) => {
      if (bottle.runningMs === null && bottle.failure === null) {
        bottle.failure = `start exited (${signal ?? code}) before running its command`;
        log(`bottle ${index + 1}/${n} ${bottle.slug ?? "(no slug)"}: ${bottle.failure}`);
      }
    });
    bottles.push(bottle);
  }
  const launchMs = performance.now() - t0;
  while (performance.now() - t0 < timeoutMs) {
    if (bottles.every((b) => b.runningMs !== null || b.failure !== null)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const b of bottles) {
    if (b.runningMs === null && b.failure === null) {
      b.failure = `not running after ${(timeoutMs / 1000).toFixed(0)} s`;
    }
  }
  return { bottles, launchMs };
}

/** The last stderr lines of a bottle's CLI, for the report of a failure. */
export function tailOf(bottle, count = 6) {
  return bottle.lines
    .slice(-count)
    .map((l) => l.text)
    .join("\n");
}

/**
 * `cleanup --all --yes` from the home, then the start CLIs (their agent's command ended with
 * its container) are waited for and killed if still there; then what is left on the engines.
 */
export async function tearDown({ env, home }, bottles, engines, log) {
  const cleanup = await runCli(env, ["cleanup", "--all", "--yes"]);
  log(`cleanup --all --yes: exit ${cleanup.code} in ${(cleanup.ms / 1000).toFixed(1)} s`);
  if (cleanup.code !== 0) log(cleanup.stderr.trim().split("\n").slice(-5).join("\n"));
  await Promise.all(
    bottles.map(
      (b) =>
        new Promise((resolve) => {
          if (b.child.exitCode !== null || b.child.signalCode !== null) return resolve();
          const timer = setTimeout(() => {
            b.child.kill("SIGKILL");
            resolve();
          }, 30_000);
          b.child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          b.child.kill("SIGTERM");
        }),
    ),
  );
  const containers = await bottleContainers(engines, home, { all: true });
  const networks = await bottleNetworks(engines, home);
  rmSync(home, { recursive: true, force: true });
  return { cleanupMs: cleanup.ms, cleanupCode: cleanup.code, containers, networks };
}
