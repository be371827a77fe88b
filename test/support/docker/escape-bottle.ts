// Shared moves of the sandbox-escape tests: run curl in the agent through a chosen proxy and
// read back the CONNECT and HTTP statuses, and sort probe results into "a packet reached a
// host" and "it went nowhere".
import { ipOn } from "../standins/escape-standins.js";
import type { RunningBottle } from "./bottle-harness.js";
import {
  type ExchangeOp,
  type ProbeOp,
  type ProbeResult,
  probe,
  webSocketFrame,
  webSocketUpgrade,
} from "./escape-probe.js";

/** Outcomes that prove a packet reached some host (even one that said no). */
const REACHED = new Set(["connected", "refused", "reply"]);

export function reached(result: ProbeResult): boolean {
  return REACHED.has(result.outcome);
}

/**
 * Outcomes that say nothing about reach: the probe itself did not run (the kernel would not
 * open its socket, or it failed some other way). Never "not reached".
 */
export function inconclusive(result: ProbeResult): boolean {
  return result.outcome === "denied" || result.outcome.startsWith("error:");
}

/**
 * "tcp 172.22.0.2:443 connected" for every probe that reached a host, and "… denied (the
 * probe did not run)" for every probe that proves nothing either way: an empty answer means
 * each probe ran and went nowhere.
 */
export function reachedTargets(ops: readonly ProbeOp[], results: readonly ProbeResult[]): string[] {
  return ops.flatMap((op, i) => {
    const result = results[i];
    if (result === undefined) return [`${describeOp(op)} (no result)`];
    if (inconclusive(result))
      return [`${describeOp(op)} ${result.outcome} (the probe did not run)`];
    if (!reached(result)) return [];
    return [`${describeOp(op)} ${result.outcome}`];
  });
}

/**
 * The positive control for "not reached": TCP to `port`, UDP to a closed port and ICMP at
 * `host`, an address the agent does reach (a sidecar on its own network). Run in the same
 * batch as the probes they vouch for, so a probe program that cannot send, or a kernel that
 * will not let it, shows up as a failed control instead of as "nothing reached".
 */
export function controlProbes(host: string, port: number): ProbeOp[] {
  return [
    { kind: "tcp", host, port },
    { kind: "udp", host, port: 9, payload: "escape probe control" },
    { kind: "icmp", host },
  ];
}

/** The controls of `controlProbes` that did not reach their host: empty when the probes work. */
export function failedControls(
  controls: readonly ProbeOp[],
  results: readonly ProbeResult[],
): string[] {
  return controls.flatMap((op, i) => {
    const result = results[i];
    return result !== undefined && reached(result)
      ? []
      : [`${describeOp(op)} ${result?.outcome ?? "(no result)"}`];
  });
}

export function describeOp(op: ProbeOp): string {
  switch (op.kind) {
    case "tcp":
    case "udp":
      return `${op.kind} ${op.host.includes(":") ? `[${op.host}]` : op.host}:${op.port}`;
    case "icmp":
      return `icmp ${op.host}`;
    case "dns":
      return `dns/${op.transport} ${op.server}:${op.port ?? 53} ${op.name}`;
    case "resolve":
      return `resolve ${op.name}`;
    case "exchange":
      return `exchange via ${op.proxy}${op.connect ? ` CONNECT ${op.connect}` : ""}`;
  }
}

/** TCP, UDP and ICMP probes at every address, on the given ports (TCP and UDP alike). */
export function everyProtocol(hosts: readonly string[], ports: readonly number[]): ProbeOp[] {
  return hosts.flatMap((host) => [
    ...ports.map((port): ProbeOp => ({ kind: "tcp", host, port })),
    ...ports.map((port): ProbeOp => ({ kind: "udp", host, port, payload: "escape probe" })),
    { kind: "icmp", host },
  ]);
}

/**
 * Runs `ops` in the bottle's agent with the positive controls in the same batch (TCP, UDP
 * and ICMP that reach pipelock on the internal network, and `extraControls`); rejects when
 * a control did not reach its host, so "nothing reached" is never a probe that cannot send.
 */
export async function probeWithControls(
  bottle: RunningBottle,
  ops: readonly ProbeOp[],
  extraControls: readonly ProbeOp[] = [],
): Promise<ProbeResult[]> {
  const pipelock = ipOn(bottle.containerOf("pipelock"), bottle.internalNetwork, bottle.engine);
  const controls = [...controlProbes(pipelock, 8888), ...extraControls];
  const results = await probe(bottle.containerOf("agent"), [...controls, ...ops], bottle.engine);
  const failed = failedControls(controls, results);
  if (failed.length > 0) {
    throw new Error(`the probes' positive controls did not reach their host: ${failed.join("; ")}`);
  }
  return results.slice(controls.length);
}

export interface CurlStatus {
  /** The proxy's answer to CONNECT (0 when there was none). */
  connect: number;
  /** The HTTP status of the request itself (0 when there was none). */
  http: number;
  body: string;
}

/**
 * curl in the agent through `proxy` (default: the agent's own environment), printing the
 * statuses after the body. The URL is double-quoted, so "$VAR" in it expands in the agent's
 * shell; extra curl arguments go before it, shell-quoted by the caller.
 */
export async function curlThrough(
  bottle: RunningBottle,
  url: string,
  options: { proxy?: string; args?: string } = {},
): Promise<CurlStatus> {
  // --noproxy '': loopback and the like go to the proxy too, whatever NO_PROXY says.
  const proxy = options.proxy === undefined ? "" : `-x '${options.proxy}'`;
  const r = await bottle.exec(
    `curl -sS -m 15 --noproxy '' ${proxy} ${options.args ?? ""} -w '\\n%{http_connect} %{http_code}' "${url}" 2>/dev/null; true`,
  );
  const lines = r.stdout.split("\n");
  const [connect, http] = (lines.pop() ?? "0 0").split(" ").map(Number);
  return { connect: connect ?? 0, http: http ?? 0, body: lines.join("\n") };
}

/** Runs curl cases in the agent and returns those not refused with 403, with their statuses. */
export async function notRefused(
  bottle: RunningBottle,
  cases: ReadonlyArray<{ name: string; url: string; args?: string; proxy?: string }>,
): Promise<string[]> {
  const passed: string[] = [];
  for (const c of cases) {
    const r = await curlThrough(bottle, c.url, {
      ...(c.args === undefined ? {} : { args: c.args }),
      ...(c.proxy === undefined ? {} : { proxy: c.proxy }),
    });
    if (r.connect !== 403 && r.http !== 403) passed.push(`${c.name}: ${r.connect} ${r.http}`);
  }
  return passed;
}

/** pipelock's proxy URL as the agent can dial it, bypassing egress. */
export function pipelockProxy(bottle: RunningBottle): string {
  return `http://${pipelockAddress(bottle)}`;
}

/** pipelock's "host:port" on the internal network. */
export function pipelockAddress(bottle: RunningBottle): string {
  return `${bottle.pipelockContainer}:8888`;
}

/** The clean message every session of pipelockWebSocket sends first. */
export const CLEAN_MESSAGE = "hello, clean message";

/**
 * A WebSocket session to `host` over TLS with pipelock as the agent's proxy (a bottle with no
 * routes has no egress): the upgrade to `target`, CLEAN_MESSAGE, then `frames`.
 */
export function pipelockWebSocket(
  bottle: RunningBottle,
  host: string,
  target: string,
  frames: Buffer[],
): ExchangeOp {
  return {
    kind: "exchange",
    proxy: pipelockAddress(bottle),
    connect: `${host}:443`,
    tls: true,
    send: [webSocketUpgrade(target, host), webSocketFrame(1, CLEAN_MESSAGE), ...frames],
    delayMs: 300,
    quietMs: 2500,
  };
}

/**
 * Writes each file into `dir` in the agent container as the agent, one command a file (a long
 * command line has a bound of its own); fails naming the file that could not be written.
 */
export async function writeAgentFiles(
  bottle: RunningBottle,
  dir: string,
  files: readonly (readonly [name: string, bytes: Buffer])[],
): Promise<void> {
  const made = await bottle.exec(`mkdir -p ${dir}`);
  if (made.code !== 0) throw new Error(`mkdir -p ${dir} in the agent: ${made.stderr}`);
  for (const [name, bytes] of files) {
    const written = await bottle.exec(
      `printf %s '${bytes.toString("base64")}' | base64 -d >${dir}/${name}`,
    );
    if (written.code !== 0)
      throw new Error(`writing ${dir}/${name} in the agent: ${written.stderr}`);
  }
}

export const EGRESS_PROXY = "http://egress:8080";
