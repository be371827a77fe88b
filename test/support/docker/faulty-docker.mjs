#!/usr/bin/env node
// The docker CLI a start under test runs (first on its PATH): every call is passed to the real
// one and logged by its step (`stepOf`); the first call of the step $CB_FAULT_STEP fails once,
// after it ran for real, so what it made exists. The failure is what the engine gives: exit 1
// and a line on stderr.
//   CB_REAL_DOCKER  the real docker binary
//   CB_FAULT_LOG    where each call is logged, one line: step, a tab, the call's first line
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";

const COMPOSE_VERBS = new Set(["up", "down", "ps", "version", "config", "rm", "stop", "logs"]);
const GROUPS = new Set([
  "image",
  "network",
  "volume",
  "secret",
  "config",
  "stack",
  "service",
  "container",
  "node",
  "swarm",
]);

const args = process.argv.slice(2);
const step = stepOf(args);
const log = process.env.CB_FAULT_LOG;
if (log) appendFileSync(log, `${step}\t${args.join(" ").split("\n")[0]}\n`);

if (step === process.env.CB_FAULT_STEP && firstTime(`${log}.fired`)) {
  spawnSync(process.env.CB_REAL_DOCKER, args, { stdio: ["inherit", "ignore", "ignore"] });
  process.stderr.write(`Error response from daemon: injected fault at ${step}\n`);
  process.exit(1);
}
const real = spawnSync(process.env.CB_REAL_DOCKER, args, { stdio: "inherit" });
process.exit(real.status ?? 1);

/** The call's step: its command words, without the engine address, values or options. */
function stepOf(argv) {
  const words = [...argv];
  if (words[0] === "--host" || words[0] === "-H") words.splice(0, 2);
  const [command = "", next = ""] = words;
  if (command === "compose") {
    return `compose ${words.find((w) => COMPOSE_VERBS.has(w)) ?? "?"}`;
  }
  if (GROUPS.has(command)) return `${command} ${next}`;
  // Who an exec runs as tells provisioning (root) from the agent's own commands.
  if (command === "exec") {
    const user = words.indexOf("-u");
    return user === -1 ? "exec" : `exec ${words[user + 1] ?? "?"}`;
  }
  return command;
}

function firstTime(marker) {
  try {
    mkdirSync(marker);
    return true;
  } catch {
    return false;
  }
}
