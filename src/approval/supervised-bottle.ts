// Where one supervised bottle keeps what supervision reads and changes, all under its state
// directory `<home>/state/<slug>/` (laid out by the bottle blueprint), except the audit log,
// which lives under `<home>/audit/` so that it outlives the bottle: `start` removes the state
// directory when the agent exits, and an audit trail that vanishes with its subject is none.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { listStateDirs } from "../backend/bottle-state.js";
import { GIT_GATE_ALLOWLIST_FILE } from "../contracts/git-gate.js";
import { stateRootOf } from "../core/state-layout.js";
import { auditLogPath } from "./audit-log.js";

export interface SupervisedBottle {
  slug: string;
  stateDir: string;
  /** Bind-mounted read-write into the supervise sidecar. */
  queueDir: string;
  /** Mounted read-only into the agent; holds policy.json. */
  currentDir: string;
  auditLog: string;
  /** pipelock's policy, behind a single-file bind mount: rewrite in place, never rename. */
  pipelockConfig: string;
  /** Egress routes (host, paths, methods, auth by env name). */
  egressRoutes: string;
  /** The gate's directory mount of approved gitleaks fingerprints. */
  gitleaksAllowFile: string;
}

export function supervisedBottle(home: string, slug: string): SupervisedBottle {
  const stateDir = join(stateRootOf(home), slug);
  return {
    slug,
    stateDir,
    queueDir: join(stateDir, "supervise", "queue"),
    currentDir: join(stateDir, "supervise", "current"),
    auditLog: auditLogPath(home, slug),
    pipelockConfig: join(stateDir, "pipelock", "pipelock.yaml"),
    egressRoutes: join(stateDir, "egress", "routes.yaml"),
    gitleaksAllowFile: join(stateDir, "git-gate", "allow", GIT_GATE_ALLOWLIST_FILE),
  };
}

/**
 * The bottles on this machine whose state has a supervise queue. Read from the state
 * directories alone, so listing and deciding work while the engine is down; only the
 * pipelock reload after an approval needs it.
 */
export async function listSupervisedBottles(home: string): Promise<SupervisedBottle[]> {
  const bottles: SupervisedBottle[] = [];
  for (const slug of await listStateDirs(home)) {
    const bottle = supervisedBottle(home, slug);
    if (await isDirectory(bottle.queueDir)) bottles.push(bottle);
  }
  return bottles;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
