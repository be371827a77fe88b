// The agent's working copy. At start, a repository of the host's is copied into the agent's
// ~/work: its branches and tags as a git bundle, and its working tree (what git tracks or
// would track, uncommitted changes included) as a tar. Never .git/config, hooks, ignored
// files, or anything outside the repository: a symlink goes in as a link, never as what it
// points at. At the end, the agent's commits and uncommitted changes come back out, so work
// that was not pushed survives the bottle. What comes back is the agent's, so untrusted: a
// bundle fetched with object checks into branches of its own namespace, and a patch that
// nothing applies.
import { lstat, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import spawn, { SubprocessError } from "nano-spawn";
import { BottleError, InputError } from "../../shared/errors.js";
import type { DockerClient } from "./docker-client.js";
import type { KeptWork } from "./kept-work.js";

export const AGENT_WORKDIR = "/home/agent/work";
const SEED_DIR = "/tmp/claude-bottle-seed";
const HARVEST_DIR = "/tmp/claude-bottle-harvest";
/** What the agent may hand back: more is refused rather than filling the host's disk. */
export const MAX_HARVEST_BYTES = 1024 * 1024 * 1024;
const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

export interface Workspace {
  /** The repository's top directory on the host. */
  repoDir: string;
  /** The checked-out branch, or null when HEAD is detached or unborn. */
  branch: string | null;
  /** HEAD's commit, or null in a repository without commits. */
  head: string | null;
  /** Every branch's tip when the copy was made, to tell what the agent changed. */
  branchTips: Record<string, string>;
  /** origin's URL without credentials, or null. */
  originUrl: string | null;
}

async function git(cwd: string, args: string[]): Promise<string> {
  try {
    return (await spawn("git", args, { cwd })).stdout;
  } catch (error) {
    if (error instanceof SubprocessError) {
      throw new BottleError(`git ${args.join(" ")} failed in ${cwd}: ${error.stderr.trim()}`, {
        cause: error,
      });
    }
    throw error;
  }
}

async function gitMaybe(cwd: string, args: string[]): Promise<string | null> {
  try {
    return (await spawn("git", args, { cwd })).stdout;
  } catch {
    return null;
  }
}

/**
 * The repository to give the agent: `dir`'s repository (its top, found from a subdirectory
 * too). Null when `dir` is in no repository and was not asked for explicitly.
 */
export async function findWorkspace(dir: string, explicit: boolean): Promise<Workspace | null> {
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new InputError(`--workdir ${dir}: no such directory`, {
      hint: "name a directory inside a git repository, or leave --workdir out",
    });
  }
  const top = (await gitMaybe(dir, ["rev-parse", "--show-toplevel"]))?.trim();
  if (!top) {
    if (!explicit) return null;
    throw new InputError(`--workdir ${dir} is not inside a git repository`, {
      hint: "run `git init` there first, or name a directory inside a repository",
    });
  }
  const head = (await gitMaybe(top, ["rev-parse", "-q", "--verify", "HEAD^{commit}"]))?.trim();
  const branch = (await gitMaybe(top, ["symbolic-ref", "-q", "--short", "HEAD"]))?.trim();
  const tips: Record<string, string> = {};
  const refs = await git(top, [
    "for-each-ref",
    "--format=%(objectname) %(refname:short)",
    "refs/heads",
  ]);
  for (const line of refs.split("\n")) {
    const [sha, name] = line.split(" ");
    if (sha && name) tips[name] = sha;
  }
  const origin = (await gitMaybe(top, ["config", "--get", "remote.origin.url"]))?.trim();
  return {
    repoDir: top,
    branch: branch && head ? branch : null,
    head: head || null,
    branchTips: tips,
    originUrl: origin ? publicRemoteUrl(origin) : null,
  };
}

/**
 * A remote URL the agent may see: never a password or token. "https://user:pw@host/x" and
 * "https://token@host/x" lose their user part; SSH user names ("git@host:x") are not
 * secrets and stay. Local paths mean nothing inside the bottle: null.
 */
export function publicRemoteUrl(url: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return null;
    }
    if (parsed.protocol === "file:") return null;
    if (parsed.protocol === "ssh:" || parsed.protocol === "git+ssh:") {
      parsed.password = "";
      return parsed.toString();
    }
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  }
  // scp-like "user@host:path"; a bare path has no colon before its first slash.
  if (/^[^/:]+:/.test(url) && !url.includes("://")) return url.replace(/^[^@/:]*:[^@/]*@/, "");
  return null;
}

/** Files of the working tree to copy: tracked and untracked-but-not-ignored, that exist. */
async function treeFiles(repoDir: string): Promise<{ present: string[]; deleted: string[] }> {
  const listed = (
    await git(repoDir, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
  )
    .split("\0")
    .filter(Boolean);
  const present: string[] = [];
  const deleted: string[] = [];
  for (const file of new Set(listed)) {
    const info = await lstat(join(repoDir, file)).catch(() => null);
    if (info === null) deleted.push(file);
    // A directory here is a submodule's gitlink: its contents are another repository's.
    else if (!info.isDirectory()) present.push(file);
  }
  return { present, deleted };
}

/** Copies the repository into the agent's ~/work, as the agent user. */
export async function seedWorkspace(
  docker: DockerClient,
  container: string,
  ws: Workspace,
  scratch: string,
): Promise<void> {
  const dir = join(scratch, "seed");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (ws.head !== null) {
    await git(ws.repoDir, [
      "bundle",
      "create",
      "-q",
      join(dir, "repo.bundle"),
      "--branches",
      "--tags",
      "HEAD",
    ]);
  }
  const { present, deleted } = await treeFiles(ws.repoDir);
  await writeFile(join(dir, "files"), `${present.join("\0")}\0`);
  await writeFile(join(dir, "deleted"), deleted.length > 0 ? `${deleted.join("\0")}\0` : "");
  // --no-recursion: each name is one entry; a symlink is stored as a link.
  await spawn("tar", [
    "-C",
    ws.repoDir,
    "--null",
    "--no-recursion",
    "-T",
    join(dir, "files"),
    "-cf",
    join(dir, "tree.tar"),
  ]);
  await docker.run(["cp", dir, `${container}:${SEED_DIR}`]);
  await docker.run(["exec", "-u", "root", container, "chown", "-R", "agent:agent", SEED_DIR]);
  const env = [
    `CB_BRANCH=${ws.branch ?? ""}`,
    `CB_HEAD=${ws.head ?? ""}`,
    `CB_ORIGIN=${ws.originUrl ?? ""}`,
  ].flatMap((e) => ["-e", e]);
  await docker.run(["exec", "-u", "agent", ...env, container, "sh", "-c", SEED_SCRIPT]);
}

const SEED_SCRIPT = `set -eu
cd ${AGENT_WORKDIR}
git init -q .
if [ -s ${SEED_DIR}/repo.bundle ]; then
  git fetch -q --update-head-ok ${SEED_DIR}/repo.bundle 'refs/heads/*:refs/heads/*' 'refs/tags/*:refs/tags/*'
  if [ -n "$CB_BRANCH" ]; then git checkout -q -f "$CB_BRANCH"; else git checkout -q -f --detach "$CB_HEAD"; fi
fi
tar -xf ${SEED_DIR}/tree.tar -C .
if [ -s ${SEED_DIR}/deleted ]; then xargs -0 rm -f -- < ${SEED_DIR}/deleted; fi
if [ -n "$CB_ORIGIN" ]; then git remote add origin "$CB_ORIGIN"; fi
git update-index -q --refresh >/dev/null || true
rm -rf ${SEED_DIR}`;

/** Bundles the agent's branches and diffs its working tree against HEAD, in the container. */
const HARVEST_SCRIPT = `set -eu
out=${HARVEST_DIR}
rm -rf "$out"; mkdir -p "$out"
cd ${AGENT_WORKDIR}
git rev-parse --git-dir >/dev/null 2>&1 || { echo no-repository; exit 0; }
export GIT_INDEX_FILE="$out/index"
if git rev-parse -q --verify 'HEAD^{commit}' >/dev/null; then
  git bundle create -q "$out/work.bundle" --branches HEAD 2>/dev/null
  git read-tree HEAD
  base=HEAD
else
  base=${EMPTY_TREE}
fi
git add -A
git diff --cached --binary "$base" > "$out/changes.patch"
rm -f "$out/index"
du -sb "$out" | cut -f1`;

/**
 * Takes the agent's work out of the container before it is removed. Never throws: what
 * cannot be kept is said in `warnings`, and the bottle is still torn down.
 */
export async function harvestWorkspace(
  docker: DockerClient,
  container: string,
  ws: Workspace,
  options: { slug: string; keepDir: string },
): Promise<KeptWork> {
  const kept: KeptWork = {
    repoDir: ws.repoDir,
    dir: options.keepDir,
    branches: [],
    patch: null,
    workCopy: null,
    warnings: [],
  };
  const made = await docker.run(["exec", "-u", "agent", container, "sh", "-c", HARVEST_SCRIPT], {
    allowFailure: true,
  });
  const said = made.stdout.trim().split("\n").pop() ?? "";
  if (made.exitCode !== 0) {
    kept.warnings.push(
      `could not collect the agent's work: ${lastLine(made.stderr) || "the container is gone"}`,
    );
    return kept;
  }
  if (said === "no-repository") {
    kept.warnings.push(
      `${AGENT_WORKDIR} in the bottle is no longer a git repository: nothing to keep`,
    );
    return kept;
  }
  if (!/^\d+$/.test(said) || Number(said) > MAX_HARVEST_BYTES) {
    kept.warnings.push(
      `the agent's work is ${said} bytes, over the ${MAX_HARVEST_BYTES} bytes claude-bottle copies out: not kept`,
    );
    return kept;
  }
  await rm(options.keepDir, { recursive: true, force: true });
  await mkdir(join(options.keepDir, ".."), { recursive: true, mode: 0o700 });
  const copied = await docker.run(["cp", `${container}:${HARVEST_DIR}`, options.keepDir], {
    allowFailure: true,
  });
  if (copied.exitCode !== 0) {
    kept.warnings.push(`could not copy the agent's work out: ${lastLine(copied.stderr)}`);
    return kept;
  }
  const files = new Set(await keepRegularFiles(options.keepDir, kept.warnings));
  const patch = join(options.keepDir, "changes.patch");
  if (files.has("changes.patch") && (await stat(patch)).size > 0) kept.patch = patch;
  else await rm(patch, { force: true });
  if (files.has("work.bundle")) {
    kept.branches = (
      await fetchAgentBranches(ws, join(options.keepDir, "work.bundle"), options.slug).catch(
        (error: unknown) => {
          kept.warnings.push(
            `could not bring the agent's commits into ${ws.repoDir}: ${describe(error)}`,
          );
          return [];
        },
      )
    ).map((branch) => ({ branch, agentName: branch, renamed: false }));
  }
  if (kept.branches.length === 0 && kept.patch === null && kept.warnings.length === 0) {
    await rm(options.keepDir, { recursive: true, force: true });
  }
  return kept;
}

/**
 * The names of the regular files in `dir`; anything else is removed with a warning. The
 * agent's processes may outlive its program and swap a harvested file for a symlink (to a
 * key of the host's, say) before it is copied out: nothing here may read through one.
 */
export async function keepRegularFiles(dir: string, warnings: string[]): Promise<string[]> {
  const names: string[] = [];
  for (const name of await readdir(dir)) {
    const info = await lstat(join(dir, name));
    if (info.isFile()) {
      names.push(name);
      continue;
    }
    await rm(join(dir, name), { recursive: true, force: true });
    warnings.push(`the agent's work held ${JSON.stringify(name)}, which is not a file: not kept`);
  }
  return names;
}

/**
 * Fetches the agent's branches into `claude-bottle/<slug>/<branch>` in the host repository,
 * keeping only those the agent moved or made. Objects are checked as they arrive; the host
 * repository's own branches are never touched.
 */
async function fetchAgentBranches(ws: Workspace, bundle: string, slug: string): Promise<string[]> {
  const prefix = `claude-bottle/${slug}`;
  const heads = await git(ws.repoDir, ["bundle", "list-heads", bundle]);
  const refspecs: string[] = [];
  const wanted: string[] = [];
  for (const line of heads.split("\n")) {
    const [sha, ref] = line.split(" ");
    if (!sha || !ref?.startsWith("refs/heads/")) continue;
    const name = ref.slice("refs/heads/".length);
    if (ws.branchTips[name] === sha) continue;
    refspecs.push(`+${ref}:refs/heads/${prefix}/${name}`);
    wanted.push(`${prefix}/${name}`);
  }
  const detached = heads
    .split("\n")
    .find((l) => l.endsWith(" HEAD"))
    ?.split(" ")[0];
  const onBranch = heads.split("\n").some((l) => l.startsWith(`${detached} refs/heads/`));
  if (detached && !onBranch && detached !== ws.head) {
    refspecs.push(`+HEAD:refs/heads/${prefix}/detached`);
    wanted.push(`${prefix}/detached`);
  }
  if (refspecs.length === 0) return [];
  await git(ws.repoDir, [
    "-c",
    "transfer.fsckObjects=true",
    "fetch",
    "-q",
    "--no-tags",
    "--no-write-fetch-head",
    bundle,
    ...refspecs,
  ]);
  return wanted;
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
