// The load generator: a closed loop of `concurrency` clients, each sending its next request
// when the previous answer has been read whole, until `total` requests are done or `maxMs`
// has passed. Latency is per request, from sending to the last byte of the answer.
import { performance } from "node:perf_hooks";
import { Agent, ProxyAgent, request } from "undici";

const TIMEOUTS = { headersTimeout: 30_000, bodyTimeout: 30_000 };

/**
 * A dispatcher for one path. `fresh` turns off TLS session resumption too, so that every new
 * connection costs a full handshake on every path.
 */
export function createDispatcher({ proxyPort, ca, concurrency, fresh }) {
  const tls = { ca, ...(fresh ? { maxCachedSessions: 0 } : {}) };
  const common = { connections: concurrency, keepAliveTimeout: 30_000, ...TIMEOUTS };
  if (proxyPort === undefined)
    return new Agent({ ...common, connect: { ...tls, timeout: 10_000 } });
  return new ProxyAgent({ ...common, uri: `http://127.0.0.1:${proxyPort}`, requestTls: tls });
}

/**
 * @param options.newConnection close the connection after each answer (no keep-alive)
 * @param options.expectToken every answer must say the upstream saw the route token
 */
export async function runLoad(options) {
  const { dispatcher, url, total, concurrency, maxMs, body, newConnection, expectToken } = options;
  const latencies = new Float64Array(total);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError;
  const started = performance.now();
  const fail = (error) => {
    errors++;
    firstError ??= error instanceof Error ? error.message : String(error);
  };

  async function client() {
    while (issued < total && performance.now() - started < maxMs) {
      issued++;
      const sent = performance.now();
      try {
        const res = await request(url, {
          dispatcher,
          method: body === undefined ? "GET" : "POST",
          ...(body === undefined ? {} : { body, headers: { "content-type": "text/plain" } }),
          ...(newConnection ? { reset: true } : {}),
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) {
          fail(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
        } else if (body !== undefined && Number(text) !== body.length) {
          fail(`upstream read ${text.trim()} of ${body.length} bytes`);
        } else if (expectToken !== undefined && res.headers["x-bench-token"] !== expectToken) {
          fail(`upstream saw token: ${res.headers["x-bench-token"]}, expected ${expectToken}`);
        } else {
          latencies[done++] = performance.now() - sent;
        }
      } catch (error) {
        fail(error);
      }
      // A failing path must not spin: errors count against the same bounded total.
      if (errors > Math.max(20, total / 20)) return;
    }
  }

  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsedMs = performance.now() - started;
  return { done, errors, firstError, elapsedMs, latencies: latencies.slice(0, done) };
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
  };
}

/** Nearest-rank quantile of sorted samples. */
function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
