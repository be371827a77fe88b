#!/usr/bin/env node
// Mutation check for the security sidecars and the CLI's fences: applies each regression
// below, one at a time, to a copy of the committed tree (a git worktree under the system's
// temporary directory, never the working tree), runs the tests meant to catch it there, and
// reports which regressions survived. Every listed regression must be killed: the script
// exits 1 if one survives or no longer applies (its code moved: update the list).
//
// The copy tags its images with a version of its own, so a mutated sidecar image never
// replaces the one other bottles on this engine run; they are removed at the end.
// Slow (engine tests, an image build): not part of .ci/run.
//
//   node scripts/mutation-check.mjs            all of them
//   node scripts/mutation-check.mjs fsck ...   only those named
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MUTANT_VERSION = "0.1.0-mutant";

/**
 * name: what regressed; edits: [file, exact text, replacement] (each must match once);
 * build: whether the tests run the built CLI or sidecar bundles; tests: vitest arguments.
 */
// The workspace fetch's object checks: git 2.39 ignores transfer.fsckObjects for a bundle,
// so the check that counts is checkBundleObjects, which runs index-pack --strict first.
const MUTATIONS = [
  {
    name: "fsck",
    what: "the agent's bundle is fetched without its objects checked",
    edits: [["src/backend/engine/workspace.ts", "  await checkBundleObjects(bundle);\n", ""]],
    build: false,
    tests: ["--project", "unit", "src/backend/engine/workspace.test.ts"],
  },
  {
    name: "private-default",
    what: "the CLI defaults private upstreams to allow",
    edits: [
      [
        "src/backend/launch-bottle.ts",
        'ctx.env.CLAUDE_BOTTLE_ALLOW_PRIVATE_UPSTREAMS === "1"',
        'ctx.env.CLAUDE_BOTTLE_ALLOW_PRIVATE_UPSTREAMS !== "0"',
      ],
    ],
    build: true,
    tests: ["--project", "integration", "test/escape/private-upstreams.test.ts"],
  },
  {
    name: "connect-private",
    what: "the CONNECT (https) path skips pipelock's private-address check",
    edits: [
      [
        "src/sidecars/pipelock/upstream.ts",
        "...(this.#lookup ? { lookup: this.#lookup } : {}),",
        '...(this.#lookup && target.scheme !== "https" ? { lookup: this.#lookup } : {}),',
      ],
    ],
    build: true,
    tests: ["--project", "integration", "test/escape/private-upstreams.test.ts"],
  },
  {
    name: "dlp-stream",
    what: "pipelock forwards a body while it scans it and aborts on a DLP hit",
    edits: [
      [
        "src/sidecars/pipelock/request-handler.ts",
        "  let verdict: DlpVerdict;\n  let bytes: Uint8Array;\n",
        [
          "  const early = ctx.upstream.request(target, {",
          '    method: req.method ?? "GET",',
          "    pathAndQuery,",
          '    headers: endToEndHeaders(req.rawHeaders, ["expect", "content-length"]),',
          "  });",
          '  early.on("error", () => {});',
          "  early.write(body.body.subarray(0, body.body.length >> 1));",
          "  // The scan of a large body takes a while; the first half is upstream meanwhile.",
          "  await new Promise((resolve) => setTimeout(resolve, 100));",
          "  let verdict: DlpVerdict;",
          "  let bytes: Uint8Array;",
          "",
        ].join("\n"),
      ],
      [
        "src/sidecars/pipelock/request-handler.ts",
        '      auditFindings(ctx, at, "dlp_block", findings, refusal.status);',
        '      early.destroy();\n      auditFindings(ctx, at, "dlp_block", findings, refusal.status);',
      ],
      [
        "src/sidecars/pipelock/request-handler.ts",
        "  forward(ctx, { req, res, target, pathAndQuery, body: bytes, at, decision, findings });",
        "  early.destroy();\n  forward(ctx, { req, res, target, pathAndQuery, body: bytes, at, decision, findings });",
      ],
    ],
    build: false,
    tests: ["--project", "unit", "test/pipelock/proxy-dlp.unit.test.ts"],
  },
  {
    name: "timeouts",
    what: "pipelock's header and request timeouts are removed",
    edits: [
      [
        "src/sidecars/pipelock/proxy-server.ts",
        "  headersTimeout: 60_000,\n  requestTimeout: 300_000,",
        "  headersTimeout: 0,\n  requestTimeout: 0,",
      ],
    ],
    build: false,
    tests: ["--project", "integration", "test/escape/slow-input.test.ts"],
  },
];

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { stdio: "inherit", ...options });
  return r.status ?? 1;
}

function git(args, cwd = ROOT) {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

function applyEdits(copy, edits) {
  for (const [file, from, to] of edits) {
    const path = join(copy, file);
    const text = readFileSync(path, "utf8");
    const at = text.indexOf(from);
    if (at === -1 || text.indexOf(from, at + 1) !== -1) {
      return `${file}: the text to change is ${at === -1 ? "not there" : "there twice"}: ${JSON.stringify(from)}`;
    }
    writeFileSync(path, text.slice(0, at) + to + text.slice(at + from.length));
  }
  return null;
}

const wanted = process.argv.slice(2);
const chosen = wanted.length === 0 ? MUTATIONS : MUTATIONS.filter((m) => wanted.includes(m.name));
if (chosen.length !== (wanted.length === 0 ? MUTATIONS.length : wanted.length)) {
  console.error(`unknown mutation; the list is: ${MUTATIONS.map((m) => m.name).join(", ")}`);
  process.exit(2);
}

const copy = join(mkdtempSync(join(tmpdir(), "cb-mutation-")), "tree");
git(["worktree", "add", "--detach", "-q", copy, "HEAD"]);
console.log(`copy of ${git(["rev-parse", "--short", "HEAD"])} at ${copy}`);
const results = [];
try {
  symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
  for (const m of chosen) {
    git(["checkout", "-q", "--", "."], copy);
    // Images of the copy's own version: a mutant never replaces the images bottles use.
    const version = join(copy, "src/shared/version.ts");
    writeFileSync(
      version,
      readFileSync(version, "utf8").replace(/VERSION = "[^"]+"/, `VERSION = "${MUTANT_VERSION}"`),
    );
    const problem = applyEdits(copy, m.edits);
    if (problem !== null) {
      results.push({ ...m, outcome: `does not apply (${problem})` });
      continue;
    }
    console.log(`\n=== ${m.name}: ${m.what}`);
    if (m.build && run("npm", ["run", "build"], { cwd: copy }) !== 0) {
      results.push({ ...m, outcome: "does not build (fix the mutation)" });
      continue;
    }
    const status = run("npx", ["vitest", "run", ...m.tests], { cwd: copy });
    results.push({ ...m, outcome: status === 0 ? "SURVIVED" : "killed" });
  }
} finally {
  // The link first, so nothing that removes the copy can reach the real node_modules.
  try {
    unlinkSync(join(copy, "node_modules"));
  } catch {}
  git(["worktree", "remove", "--force", copy]);
  const images = execFileSync(
    "docker",
    ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=claude-bottle/*"],
    { encoding: "utf8" },
  )
    .split("\n")
    .filter((i) => i.endsWith(`:${MUTANT_VERSION}`));
  if (images.length > 0) {
    spawnSync("docker", ["image", "rm", "-f", ...images], { stdio: "ignore" });
  }
}

console.log("\nmutation check:");
for (const r of results) console.log(`  ${r.outcome.padEnd(8)} ${r.name}: ${r.what}`);
const bad = results.filter((r) => r.outcome !== "killed");
console.log(
  bad.length === 0
    ? `all ${results.length} mutants killed`
    : `${bad.length} of ${results.length} not killed`,
);
process.exit(bad.length === 0 ? 0 : 1);
