// Where manifests live and how their paths are shown. Bottles come only from the user's
// home (~/.claude-bottle or CLAUDE_BOTTLE_HOME); agents from there or from a repository's
// .claude-bottle/agents. Reads the environment only through the `env` it is given.
import { homedir } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { InputError } from "../shared/errors.js";

export interface ManifestOptions {
  /** The claude-bottle home; default CLAUDE_BOTTLE_HOME, else ~/.claude-bottle. */
  home?: string;
  /** The repository the agent runs in; its .claude-bottle/agents are searched too. */
  repoDir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ManifestPaths {
  home: string;
  /** The user's home directory, shown as "~" in messages. */
  userHome: string;
  bottlesDir: string;
  agentsDir: string;
  /** Null when there is no repository, or when it is the claude-bottle home itself. */
  repoDir: string | null;
}

export const HOME_DIR_NAME = ".claude-bottle";

export function resolveManifestPaths(options: ManifestOptions = {}): ManifestPaths {
  const env = options.env ?? process.env;
  const userHome = env.HOME !== undefined && env.HOME !== "" ? env.HOME : homedir();
  const override = env.CLAUDE_BOTTLE_HOME;
  const home = options.home ?? (override ? override : join(userHome, HOME_DIR_NAME));
  if (!isAbsolute(home)) {
    throw new InputError(`CLAUDE_BOTTLE_HOME must be an absolute path, got "${home}"`, {
      hint: `e.g. CLAUDE_BOTTLE_HOME=${join(userHome, HOME_DIR_NAME)}`,
    });
  }
  const repoDir =
    options.repoDir === undefined ||
    resolve(options.repoDir, HOME_DIR_NAME) === resolve(home) ||
    resolve(options.repoDir) === resolve(home)
      ? null
      : resolve(options.repoDir);
  return {
    home: resolve(home),
    userHome,
    bottlesDir: join(resolve(home), "bottles"),
    agentsDir: join(resolve(home), "agents"),
    repoDir,
  };
}

export function repoAgentsDir(repoDir: string): string {
  return join(repoDir, HOME_DIR_NAME, "agents");
}

export function repoBottlesDir(repoDir: string): string {
  return join(repoDir, HOME_DIR_NAME, "bottles");
}

/** "~/.claude-bottle/bottles/dev.md" for a path under the user's home, else the path. */
export function displayPath(path: string, userHome: string): string {
  const rel = relative(userHome, path);
  if (rel === "") return "~";
  if (rel.startsWith("..") || isAbsolute(rel)) return path;
  return `~/${rel.split(sep).join("/")}`;
}

/**
 * A host path as written in a manifest: absolute, "~/…", or (when `baseDir` is given)
 * relative to it. Undefined when the form is not accepted.
 */
export function expandHostPath(
  text: string,
  userHome: string,
  baseDir?: string,
): string | undefined {
  if (text === "~" || text.startsWith("~/")) return join(userHome, text.slice(1));
  if (isAbsolute(text)) return resolve(text);
  if (baseDir !== undefined && !text.startsWith("~")) return resolve(baseDir, text);
  return undefined;
}
