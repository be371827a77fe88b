// The load generator for new connections: hey (Debian's package, in Go), `concurrency` workers
// in a closed loop, a new connection for each request. Why not the Node client of load.mjs
// here: the bench shares 2 cores with what it measures, and Node's TLS client costs about
// 1.4 ms of CPU per handshake (getPeerCertificate turns the whole chain into JS objects), so it
// took a full core and starved the proxy behind it; hey needs a fraction of that. (For
// keep-alive, load.mjs stays: Go's transport dials an extra connection whenever all of its
// connections are busy, which turns a saturated keep-alive run into part new-connection run.)
// hey verifies no certificate, on every path alike; the proxies verify the upstream's. The
// upstream answers anything but 200 when a request arrived wrong (see upstream-server.mjs).
import { spawnSync } from "node:child_process";
import { timed } from "./processes.mjs";

/** hey's path, or undefined when it is not installed. */
export function findHey() {
  const r = spawnSync("sh", ["-c", "command -v hey"], { encoding: "utf8" });
  const path = r.stdout.trim();
  return r.status === 0 && path !== "" ? path : undefined;
}

/**
 * GETs, each on a new connection (with a proxy: a CONNECT and a TLS handshake each).
 * @param options.hey hey's path
 * @param options.url the upstream URL
 * @param options.proxyPort the proxy on 127.0.0.1, or undefined for direct
 * @param options.total requests, at least `concurrency`
 * @param options.headers extra request headers, as "Name: value"
 * @returns like load.mjs's runLoad: latencies in ms of the requests answered 200, the rest
 *   counted as errors, and hey's own CPU seconds
 */
export function runHeyNewConnections(options) {
  const { hey, url, proxyPort, concurrency, total } = options;
  const args = ["-n", String(total), "-c", String(concurrency), "-t", "30", "-o", "csv"];
  args.push("-disable-keepalive");
  if (proxyPort !== undefined) args.push("-x", `http://127.0.0.1:${proxyPort}`);
  for (const header of options.headers ?? []) args.push("-H", header);
  args.push(url);

  const { stdout, cpuS } = timed(hey, args);
  const latencies = [];
  const statuses = new Map();
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const line of stdout.split("\n").slice(1)) {
    if (line === "") continue;
    const cells = line.split(",");
    const seconds = Number(cells[0]);
    const status = Number(cells[6]);
    const offset = Number(cells[7]);
    first = Math.min(first, offset);
    last = Math.max(last, offset + seconds);
    if (status === 200) latencies.push(seconds * 1000);
    else statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  // hey leaves requests that got no HTTP answer out of its CSV.
  const unanswered = total - latencies.length - [...statuses.values()].reduce((a, b) => a + b, 0);
  const errors = total - latencies.length;
  const described = [...statuses].map(([status, n]) => `${n}× HTTP ${status}`);
  if (unanswered > 0) described.push(`${unanswered}× no HTTP answer`);
  return {
    done: latencies.length,
    errors,
    firstError: errors === 0 ? undefined : described.join(", "),
    elapsedMs: Number.isFinite(first) ? (last - first) * 1000 : 0,
    latencies: Float64Array.from(latencies),
    clientCpuS: cpuS,
  };
}
