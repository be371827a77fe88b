// What was kept of an agent's work once its bottle is gone, and the lines that tell the user
// where. Everything named here came out of the bottle (branch names, warnings quoting the
// agent's files): the CLI prints it through its one sanitiser.
import { join, relative } from "node:path";

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

/** The lines that tell the user where the work is. */
export function describeKeptWork(kept: KeptWork, cwd: string): string[] {
  const lines: string[] = [];
  const where = kept.repoDir === null ? null : relative(cwd, kept.repoDir) || ".";
  for (const b of kept.branches) {
    lines.push(`the agent's commits: branch ${b.branch} in ${where} (git log ${b.branch})`);
  }
  if (kept.patch !== null) {
    lines.push(`the agent's uncommitted changes: ${kept.patch} (git apply ${kept.patch})`);
  }
  if (kept.workCopy !== null) lines.push(`the agent's ~/work: ${kept.workCopy}`);
  if (lines.length === 0 && kept.warnings.length === 0) {
    lines.push(
      where === null
        ? "the agent left nothing in ~/work"
        : `the agent left no commits and no uncommitted changes in ${where}`,
    );
  }
  for (const w of kept.warnings) lines.push(`warning: ${w}`);
  return lines;
}
