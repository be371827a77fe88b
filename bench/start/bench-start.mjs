// bench/start: how much claude-bottle adds to starting and stopping a bottle.
// Side by side in one run, interleaved, same images (warm cache):
//   ours   `claude-bottle start <agent> --yes --exec true` until the CLI exits
//          (plan, stage, CA minting, image cache checks, up --wait, provision, exec, down)
//   direct `docker compose up -d --wait` + `docker compose down` of the same compose file
// Prints both medians and the ratio. Usage: node bench/start/bench-start.mjs [runs=7]
import { spawnSync } from "node:child_process";
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
    process.stderr.write(
      `run ${i + 1}/${runs}: ours ${ours.at(-1).toFixed(0)} ms, direct ${bare.at(-1).toFixed(0)} ms\n`,
    );
  }
  const mOurs = median(ours);
  const mBare = median(bare);
  console.log(`\nbench/start, ${runs} runs each, interleaved, warm image cache`);
  console.log("| path | median (ms) | ratio |");
  console.log("| --- | ---: | ---: |");
  console.log(`| docker compose up --wait + down (direct) | ${mBare.toFixed(0)} | 1.00 |`);
  console.log(
    `| claude-bottle start --yes --exec true | ${mOurs.toFixed(0)} | ${(mOurs / mBare).toFixed(2)} |`,
  );
} finally {
  spawnSync("docker", ["compose", "-p", "cb-bench-direct", "down", "--timeout", "1"], { env });
  spawnSync(process.execPath, [cli, "cleanup", "--yes", "--all"], { env });
  rmSync(home, { recursive: true, force: true });
}
