// Entry of the git-gate push scan (bundled to git-gate.mjs, run by the pre-receive hook in
// the repository a push is arriving in): reads the ref updates on stdin, scans what they
// bring (see push-scan.ts), prints one line per finding on stdout and exits 1, or exits 0
// when clean. Any error exits 2 with one line on stderr: the hook then refuses the push.
// It must never print a value it found, and never exit 0 on a push it could not read.
// Its settings (gate-settings.ts): the bottle's secrets and the pieces of them earlier pushes
// carried. A clean scan writes that record as it stands with this push beside it, as pending;
// the hook moves it into place only once upstream has accepted the push (under the hook's lock).
import { readFileSync, writeFileSync } from "node:fs";
import { readGitGateSettings } from "./gate-settings.js";
import { parseRefUpdates } from "./git-objects.js";
import { openGitRepository } from "./git-repository.js";
import { renderPushScanReport, scanPush } from "./push-scan.js";

async function main(): Promise<number> {
  const updates = parseRefUpdates(readFileSync(0, "latin1"));
  const { knownSecrets, piecesRecord, piecesPendingPath } = readGitGateSettings();
  const repository = await openGitRepository();
  try {
    const report = await scanPush({ updates, repository, knownSecrets, piecesRecord });
    const lines = renderPushScanReport(report);
    if (lines.length === 0) {
      writeFileSync(piecesPendingPath, `${JSON.stringify(report.piecesRecord)}\n`, { mode: 0o600 });
      return 0;
    }
    process.stdout.write(`${lines.join("\n")}\n`);
    return 1;
  } finally {
    repository.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${message.replace(/[^\x20-\x7e]/g, "?").slice(0, 300)}\n`);
    process.exitCode = 2;
  },
);
