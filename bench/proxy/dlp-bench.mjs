// DLP scan throughput on one corpus: pipelock's engine (bundled from src/shared/dlp, one
// thread, as pipelock runs it) against `gitleaks detect --no-git`. Both are timed as whole
// processes (start, read, scan) under /usr/bin/time; the engine's in-process scan time is
// reported beside. Each must find every planted credential, or the numbers mean nothing.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { timed } from "./processes.mjs";
import { ROOT } from "./stack.mjs";

export async function benchDlp({ dir, mib, runs, log }) {
  const tool = join(dir, "dlp-tool.mjs");
  await build({
    entryPoints: [join(ROOT, "bench/proxy/dlp-tool.mjs")],
    outfile: tool,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    logLevel: "warning",
  });
  const corpus = join(dir, "corpus");
  run(process.execPath, [tool, "corpus", corpus, String(mib)]);
  const planted = JSON.parse(readFileSync(join(dir, "planted.json"), "utf8"));
  const report = join(dir, "gitleaks.json");

  const engine = [];
  const engineWarm = [];
  const gitleaks = [];
  for (let i = 0; i < runs; i++) {
    const e = timed(process.execPath, [tool, "scan", corpus]);
    const out = JSON.parse(e.stdout);
    engine.push({
      ...e,
      scanMs: out.scanMs,
      scanCpuMs: out.scanCpuMs,
      bytes: out.bytes,
      findings: out.findings,
    });
    log(`dlp run ${i + 1}/${runs}: pipelock DLP ${e.wallS.toFixed(2)} s`);
    const warm = JSON.parse(run(process.execPath, [tool, "scan-warm", corpus]));
    engineWarm.push({ scanMs: warm.scanMs, scanCpuMs: warm.scanCpuMs });
    const g = timed("gitleaks", [
      "detect",
      "--no-git",
      "--source",
      corpus,
      "--no-banner",
      "--exit-code",
      "0",
      "--log-level",
      "error",
      "--report-format",
      "json",
      "--report-path",
      report,
    ]);
    const leaks = JSON.parse(readFileSync(report, "utf8"));
    gitleaks.push({
      ...g,
      findings: leaks.map((l) => ({ file: basename(l.File), rule: l.RuleID })),
    });
    log(`dlp run ${i + 1}/${runs}: gitleaks ${g.wallS.toFixed(2)} s`);
  }
  const bytes = engine[0].bytes;
  const summarize = (samples) => {
    const m = medianBy(samples, (s) => s.wallS);
    const found = planted.filter((p) => m.findings.some((f) => f.file === p.file)).length;
    // CPU seconds, the median of its own: on a machine others load, wall time mostly
    // measures them; CPU time much less so.
    const cpuS = medianBy(samples, (s) => s.cpuS).cpuS;
    return {
      wallS: m.wallS,
      cpuS: m.cpuS,
      mibps: bytes / (1024 * 1024) / m.wallS,
      mibPerCpuS: bytes / (1024 * 1024) / cpuS,
      findings: m.findings.length,
      plantedFound: found,
    };
  };
  const scanOnly = medianBy(engine, (s) => s.scanMs);
  const scanOnlyCpu = medianBy(engine, (s) => s.scanCpuMs);
  const warmWall = medianBy(engineWarm, (s) => s.scanMs);
  const warmCpu = medianBy(engineWarm, (s) => s.scanCpuMs);
  return {
    mib: bytes / (1024 * 1024),
    files: readdirSync(corpus).length,
    planted: planted.length,
    runs,
    engine: summarize(engine),
    engineScanOnly: {
      wallS: scanOnly.scanMs / 1000,
      mibps: bytes / (1024 * 1024) / (scanOnly.scanMs / 1000),
      cpuS: scanOnlyCpu.scanCpuMs / 1000,
      mibPerCpuS: bytes / (1024 * 1024) / (scanOnlyCpu.scanCpuMs / 1000),
    },
    engineWarm: {
      wallS: warmWall.scanMs / 1000,
      mibps: bytes / (1024 * 1024) / (warmWall.scanMs / 1000),
      cpuS: warmCpu.scanCpuMs / 1000,
      mibPerCpuS: bytes / (1024 * 1024) / (warmCpu.scanCpuMs / 1000),
    },
    gitleaks: summarize(gitleaks),
    gitleaksVersion: gitleaksVersion(),
  };
}

const opts = { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 };

function run(command, args) {
  const r = spawnSync(command, args, opts);
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

function medianBy(samples, key) {
  const sorted = [...samples].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function gitleaksVersion() {
  const r = spawnSync("gitleaks", ["version"], { encoding: "utf8" });
  const text = (r.stdout ?? "").trim();
  if (/^\d/.test(text)) return text;
  // "gitleaks\t8.16.0-1": Debian's build does not know its own version.
  const dpkg = spawnSync("dpkg-query", ["-W", "gitleaks"], { encoding: "utf8" });
  const version = dpkg.stdout?.split("\t")[1]?.trim();
  return dpkg.status === 0 && version ? `${version} (Debian package)` : "unknown";
}
