// The load generator for kept-alive connections: undici in the bench's process, `concurrency`
// clients each on a connection of its own (never more connections than clients), in a closed
// loop (each sends its next request when the previous answer has been read whole) or paced to
// a steady rate. Latency is per request, from sending to the last byte of the answer. The
// upstream answers anything but 200 when a request arrived wrong (see upstream-server.mjs).
// New connections per request are hey's job (hey-load.mjs).
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, ProxyAgent, request } from "undici";

const TIMEOUTS = { headersTimeout: 30_000, bodyTimeout: 30_000 };

/** A dispatcher for one path: `concurrency` kept-alive connections, trusting `ca`. */
export function createDispatcher({ proxyPort, ca, concurrency }) {
  const common = { connections: concurrency, keepAliveTimeout: 30_000, ...TIMEOUTS };
  if (proxyPort === undefined) return new Agent({ ...common, connect: { ca, timeout: 10_000 } });
  return new ProxyAgent({ ...common, uri: `http://127.0.0.1:${proxyPort}`, requestTls: { ca } });
}

/**
 * @param options.perClientRate pace each client to this many requests per second, the clients
 *   staggered evenly, so requests arrive one by one at a steady rate rather than in bursts
 * @param options.headers extra request headers
 */
export async function runLoad(options) {
  const { dispatcher, url, total, concurrency, maxMs, body, perClientRate } = options;
  const latencies = new Float64Array(total);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const fail = (error) => {
    errors++;
    firstError ??= error instanceof Error ? error.message : String(error);
  };
  const headers = {
    ...options.headers,
    ...(body === undefined ? {} : { "content-type": "text/plain" }),
  };
  const intervalMs = perClientRate === undefined ? 0 : 1000 / perClientRate;

  async function client(index) {
    let due = started + (intervalMs * index) / concurrency;
    while (issued < total && performance.now() - started < maxMs) {
      if (intervalMs > 0) {
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        due += intervalMs;
        // Other clients may have issued the last requests meanwhile.
        if (issued >= total || performance.now() - started >= maxMs) break;
      }
      issued++;
      const sent = performance.now();
      try {
        const res = await request(url, {
          dispatcher,
          method: body === undefined ? "GET" : "POST",
          headers,
          ...(body === undefined ? {} : { body }),
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) fail(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
        else latencies[done++] = performance.now() - sent;
      } catch (error) {
        fail(error);
      }
      // A failing path must not spin: errors count against the same bounded total.
      if (errors > Math.max(20, total / 20)) return;
    }
  }

  await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    done,
    errors,
    firstError,
    elapsedMs,
    latencies: latencies.slice(0, done),
    // The bench's own process: the client, and little else while it runs.
    clientCpuS: (cpu.user + cpu.system) / 1e6,
  };
}

/** The status of one GET, its answer read whole: a probe, not a measure. */
export async function requestStatus({ dispatcher, url, headers }) {
  const res = await request(url, { dispatcher, headers });
  await res.body.text();
  return res.statusCode;
}

/** Pools runs of one path (rounds): rates over the summed time, quantiles over all samples. */
export function summarize(runs, bodyBytes) {
  const done = runs.reduce((n, r) => n + r.done, 0);
  const seconds = runs.reduce((n, r) => n + r.elapsedMs, 0) / 1000;
  const sorted = new Float64Array(done);
  let at = 0;
  for (const r of runs) {
    sorted.set(r.latencies, at);
    at += r.latencies.length;
  }
  sorted.sort();
  return {
    done,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    firstError: runs.find((r) => r.firstError !== undefined)?.firstError,
    rps: done / seconds,
    mibps: bodyBytes === undefined ? undefined : (done * bodyBytes) / (1024 * 1024) / seconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    // Cores busy while measuring: the path's proxies, the load generator, the upstream.
    cores: {
      proxies: sum(runs, "proxiesCpuS") / seconds,
      client: sum(runs, "clientCpuS") / seconds,
      upstream: sum(runs, "upstreamCpuS") / seconds,
    },
  };
}

const sum = (runs, key) => runs.reduce((n, r) => n + r[key], 0);

/** Nearest-rank quantile of sorted samples. */
function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
