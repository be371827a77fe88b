// Markdown tables and the verdict on the published targets, from the bench's measurements.
// Measures, never judges the run: "met" and "not met" are words in the output, not exit codes.

// pipelock's published overhead at 50 concurrent clients, without scanning, the claim against
// mitmproxy ("several times" is read as at least 3x), and the goal against Squid: with DLP on,
// at least as many small keep-alive requests and new connections per second.
export const TARGETS = { p50AddedMs: 0.5, p99AddedMs: 18.5, timesMitmproxy: 3, timesSquid: 1 };

const fixed = (n, digits) => (Number.isFinite(n) ? n.toFixed(digits) : "—");
const ms = (n) => fixed(n, n < 10 ? 2 : 1);
const times = (n) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "—");
const signed = (n) => (Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${ms(n)}` : "—");

/** One table: a row per path, ratios against the direct, mitmproxy and Squid rows. */
export function scenarioTable(scenario, rows) {
  const direct = rows.find((r) => r.path.id === "direct")?.result;
  const mitm = rows.find((r) => r.path.id === "mitmproxy")?.result;
  const squid = rows.find((r) => r.path.id === "squid")?.result;
  const upload = scenario.upload;
  const lines = [
    `### ${scenario.title}`,
    "",
    `${scenario.describe}`,
    "",
    `| path | requests | req/s |${upload ? " MiB/s |" : ""} p50 ms | p99 ms | req/s vs direct | req/s vs mitmproxy | req/s vs Squid | added p50 / p99 ms vs direct | cores busy: proxies / client / upstream | errors |`,
    `| --- | ---: | ---: |${upload ? " ---: |" : ""} ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ];
  for (const { path, result } of rows) {
    if (result === undefined) {
      lines.push(`| ${path.label} | not run | |${upload ? " |" : ""} | | | | | | | |`);
      continue;
    }
    const cells = [
      path.label,
      String(result.done),
      fixed(result.rps, 0),
      ...(upload ? [fixed(result.mibps, 0)] : []),
      ms(result.p50),
      ms(result.p99),
      times(direct ? result.rps / direct.rps : Number.NaN),
      times(mitm ? result.rps / mitm.rps : Number.NaN),
      times(squid ? result.rps / squid.rps : Number.NaN),
      path.id === "direct"
        ? "—"
        : `${signed(result.p50 - direct?.p50)} / ${signed(result.p99 - direct?.p99)}`,
      [
        path.id === "direct" ? "—" : fixed(result.cores.proxies, 2),
        fixed(result.cores.client, 2),
        fixed(result.cores.upstream, 2),
      ].join(" / "),
      String(result.errors),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  const measured = rows.filter((r) => r.result !== undefined);
  const handshakes = measured.map((r) => `${r.path.label} ${r.result.handshakes}`);
  const connects = measured
    .filter((r) => r.result.connects !== undefined)
    .map((r) => `${r.path.label} ${r.result.connects}`);
  lines.push(
    "",
    `While measuring, new TLS connections at the upstream: ${handshakes.join(", ")}; CONNECTs accepted by pipelock: ${connects.join(", ")}.`,
  );
  const failures = rows.filter((r) => r.result?.firstError !== undefined);
  for (const r of failures)
    lines.push("", `First error on ${r.path.label}: ${r.result.firstError}`);
  return lines.join("\n");
}

/** The published targets, each with the measured value and whether it is met. */
export function targetsSection(results) {
  const get = (scenario, path) => results[scenario]?.find((r) => r.path.id === path)?.result;
  const verdict = (ok) => (ok ? "met" : "not met");
  const lines = ["### Targets", ""];
  const added = (scenario) => {
    const direct = get(scenario, "direct");
    const pipelock = get(scenario, "pipelock");
    if (!direct || !pipelock) return undefined;
    return { p50: pipelock.p50 - direct.p50, p99: pipelock.p99 - direct.p99 };
  };
  const paced = added("paced");
  if (paced) {
    lines.push(
      `- pipelock's added latency at ${results.concurrency} concurrent clients, small keep-alive requests at a steady rate under its capacity: p50 ${signed(paced.p50)} ms (published ${TARGETS.p50AddedMs} ms: ${verdict(paced.p50 <= TARGETS.p50AddedMs)}), p99 ${signed(paced.p99)} ms (published ${TARGETS.p99AddedMs} ms: ${verdict(paced.p99 <= TARGETS.p99AddedMs)}). The published figures are without scanning; this pipelock scans the path and headers of every request.`,
    );
  }
  const saturated = added("keepalive");
  if (saturated) {
    lines.push(
      `- The same, saturated (closed loop, as fast as they go): p50 ${signed(saturated.p50)} ms, p99 ${signed(saturated.p99)} ms. There every path's p50 is about ${results.concurrency} ÷ its req/s, so this measures CPU per request on cores shared with the load generator and the upstream, not delay on the way.`,
    );
  }
  for (const [scenario, label] of [
    ["keepalive", "small keep-alive requests"],
    ["newconn", "new connection per request"],
    ["upload", "1 MiB uploads"],
  ]) {
    const ours = get(scenario, "pipelock");
    const mitm = get(scenario, "mitmproxy");
    if (!ours || !mitm) continue;
    const x = ours.rps / mitm.rps;
    lines.push(
      `- pipelock's throughput vs mitmproxy, ${label}: ${times(x)} (target: several times, read as ≥ ${TARGETS.timesMitmproxy}×: ${verdict(x >= TARGETS.timesMitmproxy)}).`,
    );
  }
  lines.push(...squidLines(get));
  return lines.join("\n");
}

/** The goal against Squid, with the route (egress → pipelock) beside pipelock. */
function squidLines(get) {
  const lines = [];
  const verdict = (x) => (x >= TARGETS.timesSquid ? "met" : "not met");
  const paced = ["direct", "pipelock", "egress", "squid"].map((id) => get("paced", id));
  if (paced.every(Boolean)) {
    const [direct, ...rest] = paced;
    const added = (r) => `${signed(r.p50 - direct.p50)} / ${signed(r.p99 - direct.p99)}`;
    lines.push(
      `- Added p50 / p99 at a steady 1,000 requests/s: pipelock ${added(rest[0])} ms, egress → pipelock ${added(rest[1])} ms, Squid ${added(rest[2])} ms.`,
    );
  }
  for (const [scenario, label, goal] of [
    ["keepalive", "small keep-alive requests", true],
    ["newconn", "new connection per request", true],
    ["upload", "1 MiB uploads", false],
  ]) {
    const squid = get(scenario, "squid");
    const ours = get(scenario, "pipelock");
    if (!squid || !ours) continue;
    const x = ours.rps / squid.rps;
    const route = get(scenario, "egress");
    lines.push(
      `- pipelock (DLP on) ÷ Squid, ${label}: ${times(x)}${goal ? ` (goal: at least as many, ≥ ${TARGETS.timesSquid}×: ${verdict(x)})` : " (no goal)"}; egress → pipelock ÷ Squid: ${times(route ? route.rps / squid.rps : Number.NaN)}.`,
    );
  }
  return lines;
}

export function dlpTable(dlp) {
  const { engine, engineScanOnly, engineWarm, gitleaks } = dlp;
  const vsCpu = (x) => times(x.mibPerCpuS / gitleaks.mibPerCpuS);
  return [
    "### DLP scan throughput",
    "",
    `Corpus: ${fixed(dlp.mib, 0)} MiB of generated TypeScript-like source in ${dlp.files} files, ${dlp.planted} planted fake credentials; median of ${dlp.runs} runs, whole processes (start, read, scan). MiB per CPU s is the corpus over the median CPU time (user + system, all threads): on a loaded machine it moves much less than wall time. The first pass of a fresh process pays for compiling the engine; the second pass (a process of its own per run) is what a pipelock that has run a while pays.`,
    "",
    "| scanner | MiB/s | wall s | CPU s | MiB per CPU s | findings | planted found | vs gitleaks | vs gitleaks, CPU |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    `| pipelock DLP (src/shared/dlp, one thread) | ${fixed(engine.mibps, 1)} | ${fixed(engine.wallS, 2)} | ${fixed(engine.cpuS, 2)} | ${fixed(engine.mibPerCpuS, 1)} | ${engine.findings} | ${engine.plantedFound}/${dlp.planted} | ${times(engine.mibps / gitleaks.mibps)} | ${vsCpu(engine)} |`,
    `| pipelock DLP, scan only (in-process, files already read) | ${fixed(engineScanOnly.mibps, 1)} | ${fixed(engineScanOnly.wallS, 2)} | ${fixed(engineScanOnly.cpuS, 2)} | ${fixed(engineScanOnly.mibPerCpuS, 1)} | — | — | ${times(engineScanOnly.mibps / gitleaks.mibps)} | ${vsCpu(engineScanOnly)} |`,
    `| pipelock DLP, scan only, second pass in one process (steady state) | ${fixed(engineWarm.mibps, 1)} | ${fixed(engineWarm.wallS, 2)} | ${fixed(engineWarm.cpuS, 2)} | ${fixed(engineWarm.mibPerCpuS, 1)} | — | — | ${times(engineWarm.mibps / gitleaks.mibps)} | ${vsCpu(engineWarm)} |`,
    `| gitleaks ${dlp.gitleaksVersion} detect --no-git | ${fixed(gitleaks.mibps, 1)} | ${fixed(gitleaks.wallS, 2)} | ${fixed(gitleaks.cpuS, 2)} | ${fixed(gitleaks.mibPerCpuS, 1)} | ${gitleaks.findings} | ${gitleaks.plantedFound}/${dlp.planted} | 1.00× | 1.00× |`,
  ].join("\n");
}
