// What was kept of an agent's work once its bottle is gone, and the lines that tell the user
// where. Everything named here came out of the bottle (branch names, warnings quoting the
// agent's files): every line made here is already safe to print, each such string shown through
// terminalSafe and each suggested command built from an argv and shell-quoted.
import { join, relative } from "node:path";
import { shellCommandLine, terminalSafe } from "../shared/terminal-text.js";

/** Where a bottle's kept work lives once it is gone: `<home>/kept/<slug>`. */
export function keptDirOf(home: string, slug: string): string {
  return join(home, "kept", slug);
}

/** One branch the agent moved or made, fetched into the host repository. */
export interface KeptBranch {
  /** The branch in the host repository: `claude-bottle/<slug>/<safe name>`. */
  branch: string;
  /** The agent's own name for it (hostile text: print it sanitised). */
  agentName: string;
  /** True when the agent's name was unsafe and `branch` carries a safe form of it. */
  renamed: boolean;
}

/** The agent's work, kept on the host after the bottle is gone. */
export interface KeptWork {
  /** The host repository the agent worked on a copy of; null when it had none. */
  repoDir: string | null;
  /** `<home>/kept/<slug>`: the bundle, the patch, the copy of ~/work. */
  dir: string;
  /** Branches made in the host repository for what the agent committed. */
  branches: KeptBranch[];
  /** Every change the agent made to the tree it received, as a patch for `git apply`; or null. */
  patch: string | null;
  /** Outside a repository: the agent's ~/work, copied to `<dir>/work`; or null. */
  workCopy: string | null;
  /** Why something could not be kept, for the user to act on. */
  warnings: string[];
}

/**
 * The lines that tell the user where the work is, safe to write to a terminal as they are:
 * bottle-derived text (branch names, paths, warnings) is shown through `terminalSafe`, and the
 * commands to paste are built from argv arrays by `shellCommandLine`.
 */
export function describeKeptWork(kept: KeptWork, cwd: string): string[] {
  const lines: string[] = [];
  const where = kept.repoDir === null ? null : relative(cwd, kept.repoDir) || ".";
  // `git -C <repo>` so that a pasted command acts on the repository from any directory, and
  // `git apply` sees paths from the top of the tree rather than skipping those outside cwd.
  const inRepo = where === null || where === "." ? [] : ["-C", where];
  // The repository by its full path: "in ." said nothing when it was the current directory.
  const shownWhere = kept.repoDir === null ? "" : ` in ${terminalSafe(kept.repoDir)}`;
  for (const b of kept.branches) {
    const command = shellCommandLine(["git", ...inRepo, "log", b.branch]);
    const named = b.renamed
      ? ` (renamed from the agent's unsafe name "${terminalSafe(b.agentName)}")`
      : "";
    lines.push(
      `the agent's commits: branch ${terminalSafe(b.branch)}${named}${shownWhere} (${command})`,
    );
  }
  if (kept.patch !== null) {
    const command = shellCommandLine(["git", ...inRepo, "apply", kept.patch]);
    // The patch runs from the tree the agent received to the tree it left: it applies to
    // the working tree as it was at start, the user's own uncommitted changes included.
    lines.push(
      `the agent's changes to your working tree as it was at start: ${terminalSafe(kept.patch)} (${command})`,
    );
  }
  if (kept.workCopy !== null) lines.push(`the agent's ~/work: ${terminalSafe(kept.workCopy)}`);
  if (lines.length === 0 && kept.warnings.length === 0) {
    lines.push(
      where === null
        ? "the agent left nothing in ~/work"
        : `the agent left no commits and no changes${shownWhere}`,
    );
  }
  for (const w of kept.warnings) lines.push(`warning: ${terminalSafe(w)}`);
  return lines;
}
