// Entry bundled with esbuild by the bench (it imports pipelock's DLP engine from src/ as
// TypeScript, so node cannot run this file as it is):
//   corpus DIR MIB   writes MIB MiB of source-like files to DIR, a few with a planted fake
//                    credential, and DIR/../planted.json naming them
//   scan DIR         scans every file in DIR as pipelock scans a text/plain request body, and
//                    prints {files, bytes, scanMs, scanCpuMs, findings} as JSON
//   scan-warm DIR    the same, twice in one process, timing the second pass: the steady state
//                    of a pipelock that has run a while (code compiled, heap settled)
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { createDlpScanner } from "../../src/shared/dlp/index.ts";
import { FAKE_CREDENTIALS, filler } from "../../test/support/fixtures/fake-credentials.ts";
import { sourceText } from "./source-text.mjs";

const FILE_BYTES = 256 * 1024;
// Shapes both pipelock's rules and gitleaks' default rules know.
const PLANTED = [
  "aws-access-token",
  "github-pat",
  "github-fine-grained-pat",
  "gitlab-pat",
  "slack-token",
  "stripe-access-token",
  "npm-access-token",
  "private-key",
];

function writeCorpus(dir, mib) {
  mkdirSync(dir, { recursive: true });
  const count = Math.ceil((mib * 1024 * 1024) / FILE_BYTES);
  const stride = Math.floor(count / PLANTED.length);
  const planted = [];
  for (let i = 0; i < count; i++) {
    const name = `module-${String(i).padStart(4, "0")}.ts`;
    let text = sourceText(FILE_BYTES, i + 1);
    const rule = i % stride === stride - 1 ? PLANTED[Math.floor(i / stride)] : undefined;
    if (rule !== undefined) {
      const hit = FAKE_CREDENTIALS[rule].hit;
      const line = hit.includes("\n") ? hit : `  const fixture = "${hit}";\n`;
      const at = text.indexOf("\n", text.length / 2) + 1;
      text = text.slice(0, at) + line + text.slice(at, text.length - line.length);
      planted.push({ file: name, rule });
    }
    writeFileSync(join(dir, name), text);
  }
  writeFileSync(join(dirname(dir), "planted.json"), JSON.stringify(planted, null, 2));
}

function scanCorpus(dir, passes = 1) {
  // As pipelock's policy would hold it: one known secret of the bottle.
  const scanner = createDlpScanner({
    knownSecrets: [{ name: "BENCH_TOKEN", value: filler(40, undefined, 11) }],
  });
  const files = readdirSync(dir)
    .sort()
    .map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
  for (let pass = 1; pass < passes; pass++) {
    for (const file of files)
      scanner.scan({ body: { bytes: file.bytes, contentType: "text/plain" } });
  }
  const findings = [];
  let bytes = 0;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (const file of files) {
    bytes += file.bytes.length;
    const verdict = scanner.scan({ body: { bytes: file.bytes, contentType: "text/plain" } });
    if (verdict.status === "findings") {
      for (const f of verdict.findings) findings.push({ file: file.name, rule: f.ruleId });
    } else if (verdict.status === "unscannable") {
      throw new Error(`${file.name}: unscannable (${verdict.detail})`);
    }
  }
  const scanMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  const scanCpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(
    `${JSON.stringify({ files: files.length, bytes, scanMs, scanCpuMs, findings })}\n`,
  );
}

const [command, dir, mib] = process.argv.slice(2);
if (command === "corpus") writeCorpus(dir, Number(mib));
else if (command === "scan") scanCorpus(dir);
else if (command === "scan-warm") scanCorpus(dir, 2);
else throw new Error("usage: dlp-tool corpus DIR MIB | scan DIR | scan-warm DIR");
