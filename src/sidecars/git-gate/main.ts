// Entry of the git-gate push scan (bundled to git-gate.mjs, run by the pre-receive hook in
// the repository a push is arriving in): reads the ref updates on stdin, scans what they
// bring (see push-scan.ts), prints one line per finding on stdout and exits 1, or exits 0
// when clean. Any error exits 2 with one line on stderr: the hook then refuses the push.
// It must never print a value it found, and never exit 0 on a push it could not read.
// The pieces of the bottle's secrets earlier pushes carried are read from PIECES_RECORD; a
// clean scan writes the record as it stands with this push to PIECES_PENDING, which the hook
// moves into place only once upstream has accepted the push (under the hook's lock).
import { readFileSync, writeFileSync } from "node:fs";
import { GIT_GATE_BOTTLE_RULES_IN_CONTAINER } from "../../contracts/git-gate.js";
import { parseRefUpdates } from "./git-objects.js";
import { openGitRepository } from "./git-repository.js";
import { emptyPiecesRecord, type PiecesRecord, parsePiecesRecord } from "./joins.js";
import { renderPushScanReport, scanPush } from "./push-scan.js";
import { parseSecretRules } from "./secret-rules.js";

function readBottleSecrets(path: string): { name: string; value: string }[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    // No file: the bottle holds no secrets of its own (the entrypoint writes it when it does).
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return parseSecretRules(text);
}

/** In the gate user's own home (0700), which no other container mounts. */
const PIECES_RECORD = "/var/lib/git-gate/push-pieces.json";
const PIECES_PENDING = `${PIECES_RECORD}.pending`;

function readPiecesRecord(path: string): PiecesRecord {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    // No record yet: no push of this bottle has been forwarded with a piece.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyPiecesRecord();
    throw error;
  }
  return parsePiecesRecord(text, path);
}

async function main(): Promise<number> {
  const updates = parseRefUpdates(readFileSync(0, "latin1"));
  const knownSecrets = readBottleSecrets(GIT_GATE_BOTTLE_RULES_IN_CONTAINER);
  const piecesRecord = readPiecesRecord(PIECES_RECORD);
  const repository = await openGitRepository();
  try {
    const report = await scanPush({ updates, repository, knownSecrets, piecesRecord });
    const lines = renderPushScanReport(report);
    if (lines.length === 0) {
      writeFileSync(PIECES_PENDING, `${JSON.stringify(report.piecesRecord)}\n`, { mode: 0o600 });
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
