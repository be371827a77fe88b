// bench/git: what the git-gate adds to a push. Side by side in one run, interleaved, the
// same generated history (bench/git/repo.mjs) pushed to the same sshd upstream:
//   direct  client on the egress network → upstream over SSH, with the gate's key and
//           the gate's ssh options
//   gate    client on the internal network → git-gate over git:// (access hook refreshes
//           the mirror over SSH, receive-pack with fsck, pre-receive: marker scan, gitleaks,
//           forward over SSH) → upstream
// Before every push the upstream repository is recreated empty and the gate's mirror is
// emptied to match, so every run pushes the whole history to a fresh repository.
// The gitleaks share is measured by running, inside the gate and as the gate user, the
// pre-receive hook's gitleaks command (same options, same config, same commit range)
// after each gate push, timed in the container; the hook's gitleaks:allow marker scan and
// the access hook's mirror refresh (one SSH round to the upstream) are timed the same way.
// Only containers and networks the bench creates are addressed, and all of them (and its
// temp dir) are removed at the end, also on error or interrupt.
// Prints a markdown table. Usage: node bench/git/bench-git.mjs [runs=5]
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { COMMITS, generateRepo } from "./repo.mjs";

const runs = Number(process.argv[2] ?? 5);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer`);
const root = fileURLToPath(new URL("../../", import.meta.url));
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const BASE = process.env.CLAUDE_BOTTLE_BASE_IMAGE ?? "claude-bottle-base:bookworm";
// The product's gate image and the engine tests' sshd upstream (same tags, same builds).
const GATE_IMAGE = `claude-bottle/git-gate:${version}`;
const SSHD_IMAGE = "claude-bottle-test/sshd-upstream:latest";
// Where the gate expects its parts (src/sidecars/git-gate/constants.ts).
const GATE_SRC = join(root, "src/sidecars/git-gate");
const HOOKS = "/etc/git-gate/hooks";
const MIRROR = "/var/lib/git-gate/repos/app.git";
const GITLEAKS_CONFIG = "/usr/local/share/git-gate/gitleaks.toml";
// As in pre-receive.
const DIFF_OPTS = "--remerge-diff --text --no-ext-diff --no-textconv";
const UPSTREAM_HOST = "git.upstream.test";
const UPSTREAM_URL = `ssh://git@${UPSTREAM_HOST}/srv/git/app.git`;
const UPSTREAM_REPO = "/srv/git/app.git";
// The gate's core.sshCommand (entrypoint.sh), with the client's own file paths.
const SSH_COMMAND =
  "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes" +
  " -o UserKnownHostsFile=/bench/known_hosts -o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no" +
  " -o IdentitiesOnly=yes -o IdentityFile=/bench/key -o IdentityAgent=none -o ConnectTimeout=10" +
  " -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o LogLevel=ERROR";

const prefix = `cb-bench-git-${randomBytes(3).toString("hex")}`;
const name = (suffix) => `${prefix}-${suffix}`;
const upstream = name("upstream");
const gate = name("gate");
const direct = name("client-direct");
const gated = name("client-gate");
const internal = name("internal");
const egress = name("egress");
const dir = mkdtempSync(join(tmpdir(), "cb-bench-git-"));

/** Runs the docker CLI; resolves { status, stdout, stderr }, rejects on failure unless allowed. */
function docker(args, { input, allowFailure = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (status) => {
      if (status !== 0 && !allowFailure) {
        const command = `docker ${args.join(" ")}`.slice(0, 300);
        reject(new Error(`${command} failed (${status}):\n${stderr}`));
      } else {
        resolve({ status, stdout, stderr });
      }
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}

const exec = async (container, script, { user, input } = {}) =>
  (
    await docker(
      [
        "exec",
        ...(input === undefined ? [] : ["-i"]),
        ...(user ? ["-u", user] : []),
        container,
        "sh",
        "-c",
        script,
      ],
      { input },
    )
  ).stdout.trim();

/** Runs `script` in `container`, timed inside it (no docker exec overhead); returns ms. */
async function timed(container, script, user) {
  const wrapped = `s=$(date +%s%N); { ${script}\n} >&2; e=$(date +%s%N); echo "$((e - s))"`;
  const r = await docker(["exec", ...(user ? ["-u", user] : []), container, "sh", "-ec", wrapped], {
    allowFailure: true,
  });
  if (r.status !== 0)
    throw new Error(`in ${container} failed (${r.status}): ${script}\n${r.stderr}`);
  return Number(r.stdout.trim().split("\n").at(-1)) / 1e6;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function waitFor(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Removes every container and network named with the prefix, and the temp dir. Sync, so
 * a signal handler can run it. */
function cleanup() {
  const owned = (args) =>
    spawnSync("docker", [...args, "--filter", `name=${prefix}-`], { encoding: "utf8" })
      .stdout.split("\n")
      .filter((n) => n.startsWith(`${prefix}-`));
  const containers = owned(["ps", "-a", "--format", "{{.Names}}"]);
  if (containers.length > 0) spawnSync("docker", ["rm", "-f", "-v", ...containers]);
  for (const network of owned(["network", "ls", "--format", "{{.Name}}"])) {
    spawnSync("docker", ["network", "rm", network]);
  }
  rmSync(dir, { recursive: true, force: true });
}

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
]) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: removing what the bench created\n`);
    cleanup();
    process.exit(code);
  });
}

function build(dockerfile, tag) {
  return docker([
    "build",
    "-q",
    "-f",
    join(root, dockerfile),
    "--build-arg",
    `BASE=${BASE}`,
    "-t",
    tag,
    root,
  ]);
}

/** Upstream back to an empty repository; the gate's mirror emptied to match. */
async function reset() {
  await exec(upstream, `rm -rf ${UPSTREAM_REPO} && git init -q --bare -b main ${UPSTREAM_REPO}`, {
    user: "git",
  });
  await exec(
    gate,
    `git -C ${MIRROR} fetch -q --prune upstream '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'` +
      ` && test -z "$(git -C ${MIRROR} for-each-ref)" && git -C ${MIRROR} gc -q --prune=now` +
      ` && test "$(git -C ${MIRROR} count-objects -v | awk '$1 == "in-pack:" || $1 == "count:" { n += $2 } END { print n }')" = 0`,
    { user: "git-gate" },
  );
}

async function upstreamTip() {
  const r = await docker(
    [
      "exec",
      "-u",
      "git",
      upstream,
      "git",
      `--git-dir=${UPSTREAM_REPO}`,
      "rev-parse",
      "-q",
      "--verify",
      "refs/heads/main",
    ],
    { allowFailure: true },
  );
  return r.stdout.trim();
}

async function push(path, tip) {
  await reset();
  const ms = await (path === "direct"
    ? timed(
        direct,
        `GIT_SSH_COMMAND='${SSH_COMMAND}' git -C /repo.git push ${UPSTREAM_URL} main:main`,
      )
    : timed(gated, `git -C /repo.git push git://${gate}/app.git main:main`));
  const got = await upstreamTip();
  if (got !== tip) throw new Error(`${path} push: upstream main is "${got}", expected ${tip}`);
  return ms;
}

/** The hook's gitleaks command on the range it scanned (the mirror held no refs before). */
function gitleaksInGate(tip) {
  const script = [
    'work=$(mktemp -d); trap \'rm -rf "$work"\' EXIT; mkdir "$work/source"',
    `export GIT_DIR=${MIRROR}`,
    "status=0",
    `gitleaks detect --no-banner --redact --log-level warn --config ${GITLEAKS_CONFIG}` +
      ` --source "$work/source" --log-opts "${tip} ${DIFF_OPTS}" --exit-code 42` +
      ` --report-format json --report-path "$work/report.json" >"$work/gitleaks.log" 2>&1 || status=$?`,
    `[ "$status" = 0 ] || { cat "$work/gitleaks.log"; exit "$status"; }`,
  ].join("\n");
  return timed(gate, script, "git-gate");
}

/** The hook's gitleaks:allow marker scan (git log -p | awk) on the same range. */
function markerScanInGate(tip) {
  const script =
    `git -C ${MIRROR} log -p -U0 ${DIFF_OPTS} --no-color --format='commit %H' ${tip} | awk '` +
    `/^commit [0-9a-f]+$/ { commit = $2; next }` +
    ` /^\\+\\+\\+ / { file = substr($0, 5); sub(/^b\\//, "", file); next }` +
    ` /^@@ / { split($3, range, ","); line = substr(range[1], 2) + 0; next }` +
    ` /^\\+/ { if (tolower($0) ~ /gitleaks:allow/) print "  commit " commit ": " file ":" line; line++ }` +
    `' >/dev/null`;
  return timed(gate, script, "git-gate");
}

/** The access hook's refresh of the mirror: one SSH connection, nothing to fetch. */
function refreshInGate() {
  return timed(
    gate,
    `flock ${MIRROR}/gate-refresh.lock git -C ${MIRROR} fetch --quiet --prune upstream` +
      ` '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'`,
    "git-gate",
  );
}

async function main() {
  const loadBefore = loadavg()[0];
  await build("images/git-gate.Dockerfile", GATE_IMAGE);
  await build("images/sshd-upstream.Dockerfile", SSHD_IMAGE);
  await docker(["network", "create", "--internal", internal]);
  await docker(["network", "create", egress]);

  // The gate's identity key; the direct client uses the same one.
  const keys = (
    await docker([
      "run",
      "--rm",
      "--name",
      name("keygen"),
      "--entrypoint",
      "sh",
      SSHD_IMAGE,
      "-c",
      'ssh-keygen -q -t ed25519 -N "" -C bench -f /tmp/id && cat /tmp/id /tmp/id.pub',
    ])
  ).stdout;
  const [, privateKey, publicKey] = /^(-----BEGIN[\s\S]+?-----END[^\n]*\n)(.*)\n$/.exec(keys) ?? [];
  if (!privateKey || !publicKey) throw new Error(`unexpected ssh-keygen output:\n${keys}`);

  await docker([
    "run",
    "-d",
    "--name",
    upstream,
    "--network",
    egress,
    "-e",
    `AUTHORIZED_KEY=${publicKey}`,
    SSHD_IMAGE,
  ]);
  await waitFor(
    "the upstream's sshd",
    async () =>
      (
        await docker(["exec", upstream, "test", "-s", "/run/upstream-sshd.pid"], {
          allowFailure: true,
        })
      ).status === 0,
  );
  const hostKey = await exec(upstream, "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub");
  const upstreamIp = (
    await docker([
      "inspect",
      "-f",
      `{{(index .NetworkSettings.Networks "${egress}").IPAddress}}`,
      upstream,
    ])
  ).stdout.trim();
  const knownHosts = `${UPSTREAM_HOST} ${hostKey}`;

  // The gate, mounted as the Compose renderer mounts it, with one upstream "app".
  writeFileSync(join(dir, "app-key"), privateKey, { mode: 0o600 });
  writeFileSync(
    join(dir, "upstreams.json"),
    `${JSON.stringify({ upstreams: [{ name: "app", url: UPSTREAM_URL, knownHosts }] }, null, 2)}\n`,
  );
  mkdirSync(join(dir, "allow"));
  writeFileSync(join(dir, "allow", "gitleaks-allow.txt"), "");
  const bind = (source, target) => [
    "--mount",
    `type=bind,source=${source},target=${target},readonly`,
  ];
  await docker([
    "create",
    "--name",
    gate,
    "--network",
    internal,
    "--add-host",
    `${UPSTREAM_HOST}:${upstreamIp}`,
    ...bind(join(GATE_SRC, "entrypoint.sh"), "/usr/local/bin/git-gate-entrypoint"),
    ...bind(join(GATE_SRC, "pre-receive"), `${HOOKS}/pre-receive`),
    ...bind(join(GATE_SRC, "access-hook"), `${HOOKS}/access-hook`),
    ...bind(join(dir, "app-key"), "/etc/git-gate/creds/app-key"),
    ...bind(join(dir, "upstreams.json"), "/etc/git-gate/upstreams.json"),
    ...bind(join(dir, "allow"), "/etc/git-gate/allow"),
    GATE_IMAGE,
  ]);
  await docker(["network", "connect", egress, gate]);
  await docker(["start", gate]);
  await waitFor("the gate to serve", async () =>
    (await docker(["logs", gate], { allowFailure: true })).stderr.includes(
      "git-gate: serving 1 upstream(s)",
    ),
  );

  // Two clients holding the same generated repository: one beside the upstream, with the
  // key; one on the internal network only, with nothing.
  const repo = generateRepo();
  const importScript =
    "git init -q --bare -b main /repo.git && git -C /repo.git fast-import --quiet --done" +
    " && git -C /repo.git repack -adq && git -C /repo.git rev-parse main";
  const tips = [];
  for (const [client, network] of [
    [direct, egress],
    [gated, internal],
  ]) {
    await docker([
      "run",
      "-d",
      "--name",
      client,
      "--network",
      network,
      "--add-host",
      `${UPSTREAM_HOST}:${upstreamIp}`,
      "--entrypoint",
      "sleep",
      SSHD_IMAGE,
      "infinity",
    ]);
    tips.push(await exec(client, importScript, { input: repo.stream }));
  }
  if (tips[0] !== tips[1]) throw new Error(`the clients' repositories differ: ${tips.join(" ")}`);
  const tip = tips[0];
  await exec(direct, "mkdir -p /bench && umask 077 && cat >/bench/key", { input: privateKey });
  await exec(direct, "cat >/bench/known_hosts", { input: `${knownHosts}\n` });
  const packKiB = Number(
    await exec(
      direct,
      "git -C /repo.git count-objects -v | awk '$1 == \"size-pack:\" { print $2 }'",
    ),
  );
  const patchBytes = Number(
    await exec(
      direct,
      `git -C /repo.git log -p -U0 ${DIFF_OPTS} --no-color --format='commit %H' main | wc -c`,
    ),
  );
  const treeBytes = Number(
    await exec(direct, "git -C /repo.git ls-tree -r -l main | awk '{ s += $4 } END { print s }'"),
  );
  const gitleaksVersion = await exec(gate, "dpkg-query -W gitleaks | cut -f2");
  const gitVersion = await exec(gate, "git --version");

  // Warm-up: one untimed push each way (page cache, ssh, first scan).
  await push("direct", tip);
  await push("gate", tip);

  const times = { direct: [], gate: [], gitleaks: [], markers: [], refresh: [] };
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? ["gate", "direct"] : ["direct", "gate"];
    for (const path of order) {
      times[path].push(await push(path, tip));
      if (path === "gate") {
        times.gitleaks.push(await gitleaksInGate(tip));
        times.markers.push(await markerScanInGate(tip));
        times.refresh.push(await refreshInGate());
      }
    }
    process.stderr.write(
      `run ${i + 1}/${runs}: direct ${times.direct.at(-1).toFixed(0)} ms, gate ${times.gate.at(-1).toFixed(0)} ms` +
        ` (gitleaks ${times.gitleaks.at(-1).toFixed(0)} ms, marker scan ${times.markers.at(-1).toFixed(0)} ms,` +
        ` mirror refresh ${times.refresh.at(-1).toFixed(0)} ms)\n`,
    );
  }

  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const share = (part) =>
    `${(median(times.gate.map((g, i) => part[i] / g)) * 100).toFixed(0)}% of gate`;
  const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(", ");
  console.log(
    `\nbench/git, ${runs} runs each way, interleaved; ${COMMITS} commits, ${repo.files} files,` +
      ` ${(treeBytes / 1e6).toFixed(1)} MB tree, ${(patchBytes / 1e6).toFixed(1)} MB of patches,` +
      ` ${(packKiB / 1024).toFixed(1)} MiB pack; gitleaks ${gitleaksVersion}, ${gitVersion};` +
      ` ${availableParallelism()} CPUs, load ${loadBefore.toFixed(2)} → ${loadavg()[0].toFixed(2)},` +
      ` Node ${process.version}`,
  );
  console.log(
    "| push of the whole history to an empty upstream | median (ms) | runs (ms) | ratio / share |",
  );
  console.log("| --- | ---: | --- | ---: |");
  const row = (label, key, ratio) =>
    console.log(`| ${label} | ${m[key].toFixed(0)} | ${fmt(times[key])} | ${ratio} |`);
  row("direct: client → upstream over SSH", "direct", "1.00");
  row(
    "gate: client → git-gate (git://) → upstream over SSH",
    "gate",
    (m.gate / m.direct).toFixed(2),
  );
  row(
    "in the gate: gitleaks detect (the hook's command, rerun)",
    "gitleaks",
    share(times.gitleaks),
  );
  row(
    "in the gate: gitleaks:allow marker scan (the hook's git log -p \\| awk, rerun)",
    "markers",
    share(times.markers),
  );
  row(
    "in the gate: access hook's mirror refresh (SSH fetch, nothing new, rerun)",
    "refresh",
    share(times.refresh),
  );
}

try {
  await main();
} finally {
  cleanup();
}
