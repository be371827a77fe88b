// bench/start: how much claude-bottle adds to starting and stopping a bottle.
// Side by side in one run, interleaved, same images (warm cache):
//   ours   `claude-bottle start <agent> --yes --exec true` until the CLI exits
//          (plan, stage, CA minting, image cache checks, up --wait, provision, exec, down)
//   direct `docker compose up -d --wait` + `docker compose down` of the same compose file
// and, beside `compose down` alone, `claude-bottle stop` of a running bottle:
//   attached  its start CLI still attached (stop keeps the work, removes, the CLI exits)
//   detached  its start CLI gone (SIGKILLed: the bottle left for resume or stop)
// Prints the medians and the ratios. Usage: node bench/start/bench-start.mjs [runs=7]
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const runs = Number(process.argv[2] ?? 7);
const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = join(root, "dist/cli/main.js");
const home = mkdtempSync(join(tmpdir(), "cb-bench-start-"));
const env = {
  ...process.env,
  CLAUDE_BOTTLE_HOME: home,
  BENCH_TOKEN: "bench-token-value",
};

mkdirSync(join(home, "bottles"), { recursive: true });
mkdirSync(join(home, "agents"), { recursive: true });
writeFileSync(
  join(home, "bottles/bench.md"),
  "---\negress:\n  allow: [api.bench.test]\n  routes:\n    - host: api.bench.test\n      auth: { scheme: Bearer, token_env: BENCH_TOKEN }\nsupervise: false\n---\n",
);
writeFileSync(join(home, "agents/bench.md"), "---\nbottle: bench\n---\nbench\n");

function run(cmd, args, extra = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: "utf8", ...extra });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return ms;
}

/** A bottle running `sleep 600` under its start CLI; resolves once the program runs. */
function startAttached() {
  const child = spawn(process.execPath, [cli, "start", "bench", "--yes", "--exec", "sleep 600"], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const slug = /instance\s+(\S+)/.exec(stderr)?.[1];
      if (slug && stderr.includes("running: sleep 600")) {
        clearInterval(poll);
        resolve({ child, slug });
      }
      if (child.exitCode !== null) {
        clearInterval(poll);
        reject(new Error(`start exited ${child.exitCode}:\n${stderr}`));
      }
    }, 100);
  });
}

const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", resolve));

/** `claude-bottle stop` of a running bottle, attached or with its CLI gone, until all have exited. */
async function timeStop(attached) {
  const { child, slug } = await startAttached();
  if (!attached) {
    child.kill("SIGKILL");
    await exited(child);
  }
  const started = process.hrtime.bigint();
  const stop = spawn(process.execPath, [cli, "stop", slug], { env, stdio: "ignore" });
  const [code] = await Promise.all([
    new Promise((resolve) => stop.once("exit", resolve)),
    exited(child),
  ]);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0) throw new Error(`stop ${slug} failed (${code})`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  // Warm-up builds every image and leaves one state dir behind for the direct path.
  run(process.execPath, [cli, "start", "bench", "--yes", "--keep-state", "--exec", "true"]);
  const [slug] = readdirSync(join(home, "state"));
  // The kept bottle is down; its compose file and staged files serve the direct path.
  const composeFile = join(home, "state", slug, "compose.yaml");
  const composeEnv = {
    EGRESS_TOKEN_0: "bench-token-value",
    PIPELOCK_SECRET_0: "bench-token-value",
  };
  const ours = [];
  const bare = [];
  const bareDown = [];
  const stopAttached = [];
  const stopDetached = [];
  for (let i = 0; i < runs; i++) {
    ours.push(run(process.execPath, [cli, "start", "bench", "--yes", "--exec", "true"]));
    const up = run(
      "docker",
      ["compose", "-p", "cb-bench-direct", "-f", composeFile, "up", "-d", "--wait"],
      {
        env: { ...env, ...composeEnv },
      },
    );
    const down = run("docker", [
      "compose",
      "-p",
      "cb-bench-direct",
      "-f",
      composeFile,
      "down",
      "--timeout",
      "3",
    ]);
    bare.push(up + down);
    bareDown.push(down);
    stopAttached.push(await timeStop(true));
    stopDetached.push(await timeStop(false));
    process.stderr.write(
      `run ${i + 1}/${runs}: ours ${ours.at(-1).toFixed(0)} ms, direct ${bare.at(-1).toFixed(0)} ms, ` +
        `compose down ${down.toFixed(0)} ms, stop attached ${stopAttached.at(-1).toFixed(0)} ms, ` +
        `stop detached ${stopDetached.at(-1).toFixed(0)} ms\n`,
    );
  }
  const mOurs = median(ours);
  const mBare = median(bare);
  const mDown = median(bareDown);
  console.log(`\nbench/start, ${runs} runs each, interleaved, warm image cache`);
  console.log("| path | median (ms) | ratio |");
  console.log("| --- | ---: | ---: |");
  console.log(`| docker compose up --wait + down (direct) | ${mBare.toFixed(0)} | 1.00 |`);
  console.log(
    `| claude-bottle start --yes --exec true | ${mOurs.toFixed(0)} | ${(mOurs / mBare).toFixed(2)} |`,
  );
  console.log("| path | median (ms) | ratio |");
  console.log("| --- | ---: | ---: |");
  console.log(`| docker compose down --timeout 3 (direct) | ${mDown.toFixed(0)} | 1.00 |`);
  for (const [label, xs] of [
    ["claude-bottle stop, its CLI attached", stopAttached],
    ["claude-bottle stop, its CLI gone", stopDetached],
  ]) {
    const m = median(xs);
    console.log(`| ${label} | ${m.toFixed(0)} | ${(m / mDown).toFixed(2)} |`);
  }
} finally {
  spawnSync("docker", ["compose", "-p", "cb-bench-direct", "down", "--timeout", "1"], { env });
  spawnSync(process.execPath, [cli, "cleanup", "--yes", "--all"], { env });
  rmSync(home, { recursive: true, force: true });
}
