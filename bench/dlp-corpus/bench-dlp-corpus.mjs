// False positives on clean traffic: builds the corpus (offline), scans it as pipelock, its
// WebSocket relay and git-gate's push scan do, and prints a markdown table. Exit 1 when any
// item is refused.
//   node bench/dlp-corpus/bench-dlp-corpus.mjs [--engine REV] [--scale full|reduced] [--keep]
// --engine REV scans with the sidecars' sources as committed at REV (git archive, never the
// work tree); without it, with the work tree's.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const engine = option("--engine", undefined);
const scale = option("--scale", "full");
const keep = args.includes("--keep");

const git = (...a) => {
  const r = spawnSync("git", a, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`git ${a.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

const work = mkdtempSync(join(tmpdir(), "dlp-corpus-"));
let status = 2;
try {
  let entry = join(ROOT, "bench/dlp-corpus/main.ts");
  let label;
  if (engine !== undefined) {
    const commit = git("rev-parse", "--verify", `${engine}^{commit}`).trim();
    const tree = join(work, "engine");
    const archive = spawnSync("git", ["archive", "--format=tar", commit, "src"], {
      cwd: ROOT,
      maxBuffer: 1024 * 1024 * 1024,
    });
    if (archive.status !== 0) throw new Error(`git archive ${commit}: ${archive.stderr}`);
    cpSync(join(ROOT, "bench/dlp-corpus"), join(tree, "bench/dlp-corpus"), { recursive: true });
    const untar = spawnSync("tar", ["-x", "-C", tree], { input: archive.stdout });
    if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
    entry = join(tree, "bench/dlp-corpus/main.ts");
    label = `engine at ${commit.slice(0, 12)} (committed)`;
  } else {
    const dirty = git("status", "--porcelain", "--", "src").trim() !== "";
    label = `engine in the work tree at ${git("rev-parse", "--short=12", "HEAD").trim()}${dirty ? " with uncommitted changes under src/" : ""}`;
  }
  // An engine from before egress read responses (--engine at an older commit) has no guard:
  // its response scan is a stub that says so.
  const engineRoot = join(dirname(entry), "..", "..");
  const stub = join(work, "no-response-scan.mjs");
  writeFileSync(stub, "export async function scanResponses() { return undefined; }\n");
  const responseScan = {
    name: "response-scan",
    setup(b) {
      b.onResolve({ filter: /scan-responses\.js$/ }, () =>
        existsSync(join(engineRoot, "src/sidecars/egress/response-guard.ts"))
          ? undefined
          : { path: stub },
      );
    },
  };
  const bundle = join(work, "main.mjs");
  await build({
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    nodePaths: [join(ROOT, "node_modules")],
    external: ["esbuild"],
    banner: {
      js: "import { createRequire as __cbRequire } from 'node:module'; const require = __cbRequire(import.meta.url);",
    },
    plugins: [responseScan],
    logLevel: "warning",
  });
  const corpus = join(work, "corpus");
  const [one, five, fifteen] = loadavg().map((l) => l.toFixed(1));
  process.stderr.write(`scanning with the ${label}\n`);
  const run = spawnSync(process.execPath, [bundle, ROOT, corpus, scale], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const [oneAfter] = loadavg().map((l) => l.toFixed(1));
  process.stdout.write(
    `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${scale} corpus, ${label}, ` +
      `Node ${process.version}, load average ${one} / ${five} / ${fifteen} at the start, ${oneAfter} at the end\n\n`,
  );
  process.stdout.write(run.stdout);
  status = run.status ?? 2;
  if (keep) process.stderr.write(`corpus kept in ${corpus}: ${readdirSync(corpus).join(" ")}\n`);
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}
process.exit(status);
