// What one run of the push scan reads before it looks at a push: the bottle's own secrets
// (written by the entrypoint when the bottle has any) and the pieces of them earlier pushes
// carried. Both files are in the gate's own space, which no other container mounts.
import { readFileSync } from "node:fs";
import { GIT_GATE_BOTTLE_RULES_IN_CONTAINER } from "../../contracts/git-gate.js";
import { emptyPiecesRecord, type PiecesRecord, parsePiecesRecord } from "./joins.js";
import { parseSecretRules } from "./secret-rules.js";

/** In the gate user's own home (0700). */
const PIECES_RECORD = "/var/lib/git-gate/push-pieces.json";

export interface GitGateSettings {
  knownSecrets: { name: string; value: string }[];
  piecesRecord: PiecesRecord;
  /** Where a clean scan writes the record with this push; the hook moves it into place. */
  piecesPendingPath: string;
}

export function readGitGateSettings(
  rulesPath = GIT_GATE_BOTTLE_RULES_IN_CONTAINER,
  recordPath = PIECES_RECORD,
): GitGateSettings {
  const rules = readIfPresent(rulesPath);
  const record = readIfPresent(recordPath);
  return {
    // No rules file: the bottle holds no secrets of its own.
    knownSecrets: rules === undefined ? [] : parseSecretRules(rules),
    // No record yet: no push of this bottle has been forwarded with a piece.
    piecesRecord:
      record === undefined ? emptyPiecesRecord() : parsePiecesRecord(record, recordPath),
    piecesPendingPath: `${recordPath}.pending`,
  };
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
