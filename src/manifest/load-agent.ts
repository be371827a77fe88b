// Loads an agent by name, from the claude-bottle home or the repository, with its bottle.
// An agent may come from a cloned repository, so everything it can reach is bounded: its
// bottle comes from the user's home by name, its skill paths stay inside the repository,
// and it can never stand in for a home agent of the same name.
import { realpath, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { didYouMean } from "../shared/did-you-mean.js";
import { InputError } from "../shared/errors.js";
import { agentFileSchema, type SkillRef } from "./agent-schema.js";
import {
  listManifests,
  loadBottleFrom,
  type ManifestEntry,
  manifestPathsFor,
} from "./load-bottle.js";
import { type ManifestFile, readManifestFile } from "./manifest-file.js";
import {
  locationOf,
  type ManifestIssue,
  manifestError,
  validateManifest,
} from "./manifest-issues.js";
import {
  displayPath,
  expandHostPath,
  type ManifestOptions,
  type ManifestPaths,
  repoAgentsDir,
  resolveManifestPaths,
} from "./manifest-paths.js";
import type { AgentSkill, AgentSource, ResolvedAgent } from "./resolved-bottle.js";

export interface AgentEntry extends ManifestEntry {
  source: AgentSource;
}

export async function loadAgent(
  name: string,
  options: ManifestOptions = {},
): Promise<ResolvedAgent> {
  const paths = await manifestPathsFor("agent", name, options);
  const found = await findAgentFile(name, paths);
  const raw = validateManifest(
    agentFileSchema(displayPath(paths.bottlesDir, paths.userHome)),
    found.file,
  );
  const skills = await resolveSkills(raw.skills ?? [], found, paths);
  const bottle = await loadBottleFrom(raw.bottle, paths, { file: found.file, path: ["bottle"] });
  return {
    name,
    file: found.file.path,
    label: found.file.label,
    source: found.source,
    description: raw.description ?? null,
    prompt: found.file.body,
    skills,
    bottle,
  };
}

/** The agents in the claude-bottle home and, when given, the repository. */
export async function listAgents(options: ManifestOptions = {}): Promise<AgentEntry[]> {
  return listAgentsIn(resolveManifestPaths(options));
}

async function listAgentsIn(paths: ManifestPaths): Promise<AgentEntry[]> {
  const entries: AgentEntry[] = [];
  for (const { dir, source } of agentDirs(paths)) {
    const listed = await listManifests(dir, paths.userHome);
    entries.push(...listed.map((entry) => ({ ...entry, source })));
  }
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

function agentDirs(paths: ManifestPaths): { dir: string; source: AgentSource }[] {
  const dirs: { dir: string; source: AgentSource }[] = [{ dir: paths.agentsDir, source: "home" }];
  if (paths.repoDir !== null) dirs.push({ dir: repoAgentsDir(paths.repoDir), source: "repo" });
  return dirs;
}

interface FoundAgent {
  file: ManifestFile;
  source: AgentSource;
}

async function findAgentFile(name: string, paths: ManifestPaths): Promise<FoundAgent> {
  const found: FoundAgent[] = [];
  const labels: string[] = [];
  for (const { dir, source } of agentDirs(paths)) {
    const path = join(dir, `${name}.md`);
    const label = displayPath(path, paths.userHome);
    labels.push(label);
    const file = await readManifestFile(path, label);
    if (file === undefined) continue;
    if (source === "repo" && paths.repoDir !== null)
      await assertInsideRepo(path, label, paths.repoDir);
    found.push({ file, source });
  }
  const [first, second] = found;
  if (first !== undefined && second !== undefined) {
    // Neither may shadow the other: a repo must not swap in its own prompt and bottle choice
    // under a name you trust, and silently ignoring the repo's agent would surprise as much.
    throw new InputError(
      `agent "${name}" is defined twice: ${first.file.label} and ${second.file.label}; rename one of them`,
      {
        hint: "an agent in a repository never stands in for one of yours, nor yours for the repository's",
      },
    );
  }
  if (first !== undefined) return first;
  const known = [...new Set((await listAgentsIn(paths)).map((agent) => agent.name))];
  throw new InputError(
    `no agent "${name}": ${labels.length === 1 ? `${labels[0]} does not exist` : `neither ${labels.join(" nor ")} exists`}${didYouMean(name, known)}`,
    {
      hint:
        known.length === 0
          ? "create one; `claude-bottle init` writes examples to start from"
          : `agents you have: ${known.join(", ")}`,
    },
  );
}

/**
 * A repository's agent file must be the repository's own: a symlinked file or agents
 * directory that leads elsewhere (your home, another checkout) is refused, as its skills are.
 */
async function assertInsideRepo(path: string, label: string, repoDir: string): Promise<void> {
  const inside = relative(await realpath(repoDir), await realpath(path));
  if (inside.startsWith("..") || isAbsolute(inside)) {
    throw new InputError(`${label} leads outside the repository (through a symbolic link)`, {
      hint: "an agent from a repository must be a file inside it: replace the link with the file",
    });
  }
}

async function resolveSkills(
  refs: readonly SkillRef[],
  agent: FoundAgent,
  paths: ManifestPaths,
): Promise<AgentSkill[]> {
  const issues: ManifestIssue[] = [];
  const skills: AgentSkill[] = [];
  for (const [i, ref] of refs.entries()) {
    if (ref.kind === "name") {
      skills.push(ref);
      continue;
    }
    const resolved = await resolveSkillPath(ref.path, agent, paths);
    if (typeof resolved === "string") {
      skills.push({
        kind: "path",
        path: resolved,
        declaredAt: locationOf(agent.file, ["skills", i]),
      });
    } else {
      issues.push({ path: ["skills", i], message: resolved.problem });
    }
  }
  if (issues.length > 0) throw manifestError(agent.file, issues);
  return skills;
}

async function resolveSkillPath(
  text: string,
  agent: FoundAgent,
  paths: ManifestPaths,
): Promise<string | { problem: string }> {
  const base = dirname(agent.file.path);
  if (agent.source === "repo" && (isAbsolute(text) || text.startsWith("~"))) {
    return {
      problem: `"${text}" is outside the repository; an agent from a repository may only use skills inside it: write a path relative to ${agent.file.label}`,
    };
  }
  const path = expandHostPath(text, paths.userHome, base);
  if (path === undefined) {
    return {
      problem: `"${text}" is not a path this can read: write /…, ~/… or a path relative to the agent file`,
    };
  }
  let real: string;
  try {
    real = await realpath(path);
    await stat(real);
  } catch {
    return { problem: `${displayPath(path, paths.userHome)} does not exist; fix the path` };
  }
  if (agent.source === "repo" && paths.repoDir !== null) {
    const inside = relative(await realpath(paths.repoDir), real);
    if (inside.startsWith("..") || isAbsolute(inside)) {
      return {
        problem: `"${text}" leads outside the repository; an agent from a repository may only use skills inside it`,
      };
    }
  }
  return resolve(real);
}
