// How a bottle ends, whoever ends it (the exit of `start` or `resume`, `stop`, `cleanup`):
// the agent's work is kept first, then everything of the bottle is removed, each step
// within its share of one bound. A step that cannot finish in time is skipped or forced, and
// said; nothing here waits on the engine, the agent or another CLI without a deadline.

import { recordBottleEnd } from "../dashboard/ended-bottles.js";
import { InputError } from "../shared/errors.js";
import type { AgentHandle, RemovalBounds } from "./backend.js";
import { readMetadata, updateMetadata } from "./bottle-state.js";
import { boundedClient } from "./engine/docker-client.js";
import { harvestWorkspace, type Workspace } from "./engine/workspace.js";
import { type KeptWork, keptDirOf } from "./kept-work.js";

/** Seconds a bottle's end may take in all, work-keeping included (default 120). */
export const STOP_TIMEOUT_ENV = "CLAUDE_BOTTLE_STOP_TIMEOUT";
const DEFAULT_STOP_SECONDS = 120;

export interface StopBudget {
  totalMs: number;
  /** For keeping the agent's work; past it the work is skipped, with a warning. */
  keepMs: number;
  removal: RemovalBounds;
}

/** The bound of a bottle's end, from CLAUDE_BOTTLE_STOP_TIMEOUT: half to keep, half to remove. */
export function stopBudgetOf(env: NodeJS.ProcessEnv): StopBudget {
  const raw = env[STOP_TIMEOUT_ENV];
  const seconds = raw === undefined || raw === "" ? DEFAULT_STOP_SECONDS : Number(raw);
  if (!Number.isInteger(seconds) || seconds < 10) {
    throw new InputError(`${STOP_TIMEOUT_ENV}="${raw}" is not a whole number of seconds >= 10`, {
      hint: `set it to e.g. ${STOP_TIMEOUT_ENV}=300, or unset it (default ${DEFAULT_STOP_SECONDS})`,
    });
  }
  const totalMs = seconds * 1000;
  return {
    totalMs,
    keepMs: totalMs / 2,
    removal: { gracefulMs: totalMs / 4, forcedMs: totalMs / 4 },
  };
}

export interface EndBottleOptions {
  slug: string;
  stateDir: string | null;
  /** Who ends it, for a CLI that finds its bottle gone: `stop`, `cleanup`, `start`, `resume`. */
  command: string;
  /**
   * Keep the agent's work before removing: its repository's changes, or its ~/work when it
   * had none. False when the agent never ran (a failed start) or its container is gone.
   */
  keep: boolean;
  workspace: Workspace | null;
  home: string;
  budget: StopBudget;
  progress: (line: string) => void;
  /** The agent program's exit code, when its exit is what ends the bottle. */
  exitCode?: number | null;
  /** False when another command ended the bottle and recorded how (default true). */
  record?: boolean;
  /** Told what was kept, or why nothing was (a warning, never silence). */
  onKept?: (kept: KeptWork) => void;
  agent: () => Promise<AgentHandle>;
  remove: (bounds: RemovalBounds) => Promise<void>;
}

/**
 * Marks the bottle as stopping (so its attached CLI, seeing its program end, knows another
 * command took it down and does not harvest a removed container), keeps the agent's work
 * within `budget.keepMs`, then removes the bottle within `budget.removal`; throws what the
 * removal throws (what is left of the bottle, named).
 */
export async function endBottle(o: EndBottleOptions): Promise<void> {
  // What the bottle was, read before removal takes its state directory: for its ended record.
  const metadata = o.stateDir === null ? null : await readMetadata(o.stateDir).catch(() => null);
  if (o.stateDir !== null) {
    await updateMetadata(o.stateDir, {
      phase: "stopping",
      stoppingBy: { command: o.command, pid: process.pid },
    }).catch(() => {});
  }
  const kept = o.keep ? await keepWork(o) : null;
  if (kept !== null) o.onKept?.(kept);
  o.progress(`removing bottle ${o.slug}…`);
  await o.remove(o.budget.removal);
  // The dashboard lists the last day's ended bottles; a record that cannot be written is said.
  if (o.record === false) return;
  const warning = await recordBottleEnd(o.home, {
    slug: o.slug,
    command: o.command,
    exitCode: o.exitCode ?? null,
    metadata,
    kept,
  });
  if (warning !== null) o.progress(`warning: ${warning}`);
}

async function keepWork(o: EndBottleOptions): Promise<KeptWork> {
  const keepDir = keptDirOf(o.home, o.slug);
  const deadline = Date.now() + o.budget.keepMs;
  const nothing = (warning: string): KeptWork => ({
    repoDir: o.workspace?.repoDir ?? null,
    dir: keepDir,
    branches: [],
    patch: null,
    workCopy: null,
    warnings: [warning],
  });
  o.progress("keeping the agent's work…");
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve(null);
    }, o.budget.keepMs);
  });
  const harvest = (async () => {
    const agent = await o.agent();
    // Every docker call of the harvest runs in its own process group (a Ctrl-C cannot cut it)
    // and is killed at the deadline.
    return harvestWorkspace(boundedClient(agent.docker, deadline), agent.container, o.workspace, {
      slug: o.slug,
      keepDir,
      signal: abort.signal,
    });
  })().catch((error: unknown) =>
    nothing(
      `could not keep the agent's work: ${error instanceof Error ? error.message : String(error)}`,
    ),
  );
  try {
    return (
      (await Promise.race([harvest, late])) ??
      nothing(
        `keeping the agent's work did not finish within ${Math.round(o.budget.keepMs / 1000)} s: skipped, and the bottle removed without it (${STOP_TIMEOUT_ENV}=<seconds> gives a slow machine longer)`,
      )
    );
  } finally {
    clearTimeout(timer);
  }
}
