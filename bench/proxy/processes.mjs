// The processes the bench starts, and the one place that stops them: each child's output goes
// to a log file in the bench's temp dir, readiness is "its port accepts a connection", and
// stopAll() (also run on exit and Ctrl-C) ends every child still running, by its own pid.
// timed() runs a command to its end under time(1), for its output and CPU seconds.
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";

const children = new Set();

/** Starts `command` with stdout and stderr in LOGDIR/NAME.log. */
export function startProcess({ name, command, args, env, logDir }) {
  const logPath = join(logDir, `${name}.log`);
  const fd = openSync(logPath, "a");
  const child = spawn(command, args, { env, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const entry = { name, child, logPath, exited: false };
  child.on("exit", () => {
    entry.exited = true;
    children.delete(entry);
  });
  child.on("error", () => {
    entry.exited = true;
    children.delete(entry);
  });
  children.add(entry);
  return entry;
}

/** Resolves when 127.0.0.1:port accepts a TCP connection; rejects if the process died first. */
export async function waitForPort(entry, port, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (entry.exited) throw new Error(`${entry.name} exited before listening:\n${tail(entry)}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(
    `${entry.name} did not listen on port ${port} in ${timeoutMs} ms:\n${tail(entry)}`,
  );
}

export async function waitFor(what, test, entry, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (test()) return;
    if (entry.exited)
      throw new Error(`${entry.name} exited while waiting for ${what}:\n${tail(entry)}`);
    await sleep(50);
  }
  throw new Error(`${entry.name}: no ${what} after ${timeoutMs} ms:\n${tail(entry)}`);
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function stopProcess(entry, timeoutMs = 3000) {
  if (entry.exited) return;
  const exited = new Promise((resolve) => entry.child.once("exit", resolve));
  entry.child.kill("SIGTERM");
  const timer = setTimeout(() => entry.child.kill("SIGKILL"), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll() {
  await Promise.all([...children].map((entry) => stopProcess(entry)));
}

/** For process "exit" handlers, where nothing asynchronous runs any more. */
export function killAllNow() {
  for (const entry of children) entry.child.kill("SIGKILL");
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function tail(entry) {
  try {
    return readFileSync(entry.logPath, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "(no log)";
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const TIME = "/usr/bin/time";
const TIMED_OPTIONS = { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 };

/** Runs `command` under /usr/bin/time when there is one: wall and CPU seconds. */
export function timed(command, args) {
  const started = process.hrtime.bigint();
  const withTime = existsSync(TIME);
  const r = withTime
    ? spawnSync(TIME, ["-f", "BENCH_TIME %e %U %S", command, ...args], TIMED_OPTIONS)
    : spawnSync(command, args, TIMED_OPTIONS);
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  const m = /BENCH_TIME (\S+) (\S+) (\S+)/.exec(r.stderr);
  return { stdout: r.stdout, wallS, cpuS: m ? Number(m[2]) + Number(m[3]) : Number.NaN };
}
