// The agent's working copy. At start, a repository of the host's is copied into the agent's
// ~/work: its branches and tags as a git bundle, and its working tree (what git tracks or
// would track, uncommitted changes included) as a tar. Never .git/config, hooks, ignored
// files, or anything outside the repository: a symlink goes in as a link, never as what it
// points at. At the end, the agent's work comes back out, so work that was not pushed
// survives the bottle: its commits as a bundle and its changes as a patch against the tree
// it received, or without a repository ~/work itself. What comes back is the agent's, so
// hostile: one tar stream read by a safe extractor (harvest-extract.ts), a bundle fetched
// with object checks into branches of its own namespace, and a patch that nothing applies.
import { createHash } from "node:crypto";
import { lstat, mkdir, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import spawn, { SubprocessError } from "nano-spawn";
import { BottleError, InputError } from "../../shared/errors.js";
import { type ExtractResult, extractHarvest, HarvestRefused } from "../harvest-extract.js";
import type { KeptBranch, KeptWork } from "../kept-work.js";
import { checkBundleObjects } from "./bundle-check.js";
import type { DockerClient } from "./docker-client.js";

export const AGENT_WORKDIR = "/home/agent/work";
const SEED_DIR = "/tmp/claude-bottle-seed";
/** The tree the agent received, as a commit in its repository: what its patch is taken against. */
const SEED_REF = "refs/claude-bottle/seed";
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
idx=${SEED_DIR}/seed-index
tree=$(GIT_INDEX_FILE=$idx git add -A && GIT_INDEX_FILE=$idx git write-tree)
seed=$(git -c user.name=claude-bottle -c user.email=claude-bottle@localhost commit-tree -m "the tree the agent received" "$tree")
git update-ref ${SEED_REF} "$seed"
rm -rf ${SEED_DIR}`;

/**
 * In the container, as the agent: bundles the agent's branches and diffs its working tree
 * against the tree it received (`SEED_REF`), then writes both as one tar to stdout (fd 3;
 * everything else goes to stderr). Exits 3, writing nothing, when ~/work is no repository.
 */
const HARVEST_SCRIPT = `set -eu
exec 3>&1 1>&2
cd ${AGENT_WORKDIR}
git rev-parse --git-dir >/dev/null 2>&1 || exit 3
out=$(mktemp -d /tmp/claude-bottle-harvest.XXXXXXXX)
trap 'rm -rf "$out"' EXIT
export GIT_INDEX_FILE="$out/index"
if git rev-parse -q --verify 'HEAD^{commit}' >/dev/null; then
  git bundle create -q "$out/work.bundle" --branches HEAD || echo "claude-bottle: no bundle of the agent's commits" >&2
fi
base=$(git rev-parse -q --verify '${SEED_REF}^{tree}' || git rev-parse -q --verify 'HEAD^{tree}' || echo ${EMPTY_TREE})
if [ "$base" = ${EMPTY_TREE} ]; then git read-tree --empty; else git read-tree "$base"; fi
git add -A
git diff --cached --binary "$base" > "$out/changes.patch"
rm -f "$out/index"
cd "$out"
tar -cf - -- * >&3`;

/**
 * In the container, as root (so nothing the agent made unreadable is left out): ~/work as one
 * tar to stdout. GNU tar stores symlinks and special files as what they are, never what
 * they point at, and each name of a hard-linked file as a file of its own; the host keeps
 * only files and directories.
 */
const COPY_SCRIPT = `cd ${dirname(AGENT_WORKDIR)} && exec tar --one-file-system --hard-dereference -cf - work`;

/**
 * What a `.git` directory in a copied ~/work is renamed to: a repository's config (core.fsmonitor,
 * diff drivers) and hooks run programs when git runs there, and these are the agent's.
 */
const INERT_GIT_DIR = ".git-from-bottle";

/** How many passed-over entries the exit names one by one. */
const MAX_SKIPS_LISTED = 10;

/** The files the git harvest hands back; anything else in its stream is not kept. */
const HARVEST_FILES = new Set(["work.bundle", "changes.patch"]);

/**
 * Takes the agent's work out of the container before it is removed: its commits and its
 * changes to the tree it received, or, without a repository, a copy of ~/work. It leaves
 * as one tar stream read by `extractHarvest` into a new `keepDir`, created here and only
 * here (if it exists, another command kept this bottle's work first, and nothing is done).
 * Never throws: what cannot be kept is said in `warnings`, and the bottle is still removed.
 */
export async function harvestWorkspace(
  docker: DockerClient,
  container: string,
  ws: Workspace | null,
  options: { slug: string; keepDir: string; signal?: AbortSignal },
): Promise<KeptWork> {
  const kept: KeptWork = {
    repoDir: ws?.repoDir ?? null,
    dir: options.keepDir,
    branches: [],
    patch: null,
    workCopy: null,
    warnings: [],
  };
  try {
    await mkdir(dirname(options.keepDir), { recursive: true, mode: 0o700 });
  } catch (error) {
    kept.warnings.push(`could not make ${dirname(options.keepDir)}: ${describe(error)}`);
    return kept;
  }
  if (ws !== null) {
    const got = await takeOut(docker, container, options, {
      user: "agent",
      script: HARVEST_SCRIPT,
      place: (name) => (HARVEST_FILES.has(name) ? [name] : null),
    });
    if (got === "no-repository") {
      kept.warnings.push(
        `${AGENT_WORKDIR} in the bottle is no longer a git repository: kept as a directory instead`,
      );
    } else if (got.files === null && got.retry) {
      // git could not bundle or diff (a file it cannot read, a broken object): the work is
      // still there as files, so it is kept as a directory rather than lost.
      kept.warnings.push(...got.warnings, "kept ~/work as a directory instead");
    } else {
      if (got.files !== null) await keepGitWork(kept, ws, got.files, options.slug);
      kept.warnings.push(...got.warnings);
      await dropIfEmpty(kept, got);
      return kept;
    }
  }
  let inertGit = false;
  const got = await takeOut(docker, container, options, {
    user: "root",
    script: COPY_SCRIPT,
    place: (name) => {
      if (name !== "work" && !name.startsWith("work/")) return null;
      return name.split("/").map((part) => {
        if (part.toLowerCase() !== ".git") return part;
        inertGit = true;
        return INERT_GIT_DIR;
      });
    },
  });
  if (got !== "no-repository") {
    kept.warnings.push(...got.warnings);
    if (inertGit && got.files !== null) {
      kept.warnings.push(
        `a .git directory in ~/work is kept as ${INERT_GIT_DIR}, where git never reads it: its config and hooks are the agent's and could run programs on this host; review them before renaming it back`,
      );
    }
    if ((got.files ?? []).length > 0) kept.workCopy = join(options.keepDir, "work");
    await dropIfEmpty(kept, got);
  }
  return kept;
}

interface TakenOut {
  /** The files written under keepDir; null when nothing could be kept. */
  files: string[] | null;
  /** The directories made under keepDir, in the order they were made. */
  dirs: string[];
  /** Nothing was kept, and another way of taking the work out may succeed. */
  retry?: boolean;
  warnings: string[];
}

/** Runs `how.script` in the container and reads its stdout, a tar, into a new keepDir. */
async function takeOut(
  docker: DockerClient,
  container: string,
  options: { keepDir: string; signal?: AbortSignal },
  how: { user: string; script: string; place: (name: string) => string[] | null },
): Promise<TakenOut | "no-repository"> {
  let extracted: ExtractResult | null = null;
  let refused: unknown = null;
  const ran = await docker
    .run(["exec", "-u", how.user, container, "sh", "-c", how.script], {
      allowFailure: true,
      detached: true,
      ...(options.signal ? { signal: options.signal } : {}),
      stdoutTo: async (stdout) => {
        try {
          extracted = await extractHarvest(stdout, {
            dir: options.keepDir,
            maxBytes: MAX_HARVEST_BYTES,
            place: how.place,
          });
        } catch (error) {
          refused = error;
          throw error;
        }
      },
    })
    .catch((error: unknown) => ({ exitCode: -1, stdout: "", stderr: describe(error) }));
  const result = extracted as ExtractResult | null;
  if (result === null) {
    if (ran.exitCode === 3) return "no-repository";
    const why =
      refused instanceof HarvestRefused && refused.reason !== "format"
        ? refusalText(refused, options.keepDir)
        : `could not collect the agent's work: ${lastLine(ran.stderr) || (refused instanceof Error ? refused.message : "the container is gone")}`;
    // Only a bound or a kept directory standing there is final; the copy may fare better.
    const final =
      (refused instanceof HarvestRefused && refused.reason !== "format") ||
      /No such container|is not running/i.test(ran.stderr);
    return { files: null, dirs: [], warnings: [why], retry: !final };
  }
  // Names as the agent wrote them: the printer shows them safely. A stream full of them
  // (a directory swapped for a link to /) is summed up, not listed.
  const warnings = result.skipped
    .slice(0, MAX_SKIPS_LISTED)
    .map((s) => `the agent's work held "${s.name}", ${s.why}: not kept`);
  if (result.skipped.length > MAX_SKIPS_LISTED) {
    warnings.push(`and ${result.skipped.length - MAX_SKIPS_LISTED} more entries not kept`);
  }
  if (ran.exitCode !== 0) {
    warnings.push(
      `the agent's work may be incomplete: ${lastLine(ran.stderr) || `exit code ${ran.exitCode}`}`,
    );
  }
  return { files: result.files, dirs: result.dirs, warnings };
}

function refusalText(error: HarvestRefused, keepDir: string): string {
  switch (error.reason) {
    case "bound":
      return `the agent's work is ${error.message}: not kept`;
    case "exists":
      return `${keepDir} already exists (the work was kept there before): nothing more kept`;
    default:
      return `could not keep the agent's work: ${error.message}`;
  }
}

/** Fetches the bundle's branches into the repository and keeps a patch that changes something. */
async function keepGitWork(kept: KeptWork, ws: Workspace, files: string[], slug: string) {
  const patch = join(kept.dir, "changes.patch");
  if (files.includes("changes.patch") && (await stat(patch)).size > 0) kept.patch = patch;
  if (!files.includes("work.bundle")) return;
  try {
    const fetched = await fetchAgentBranches(ws, join(kept.dir, "work.bundle"), slug);
    kept.branches = fetched.branches;
    kept.warnings.push(...fetched.warnings);
  } catch (error) {
    kept.warnings.push(
      `could not bring the agent's commits into ${ws.repoDir}: ${describe(error)}`,
    );
  }
}

/**
 * Removes keepDir when it holds nothing worth keeping (no branch, no patch, no copy, no
 * warning): only the files this run wrote, then the directory, never recursively.
 */
async function dropIfEmpty(kept: KeptWork, got: { files: string[] | null; dirs: string[] }) {
  const files = got.files ?? [];
  const worth =
    kept.branches.length > 0 ||
    kept.patch !== null ||
    kept.workCopy !== null ||
    kept.warnings.length > 0;
  if (worth) {
    // A patch that changes nothing is no work of the agent's.
    if (kept.patch === null && files.includes("changes.patch")) {
      await unlink(join(kept.dir, "changes.patch")).catch(() => {});
    }
    return;
  }
  for (const file of files) await unlink(join(kept.dir, file)).catch(() => {});
  for (const dir of [...got.dirs].reverse()) await rmdir(join(kept.dir, dir)).catch(() => {});
  await rmdir(kept.dir).catch(() => {});
}

/** A branch name git accepts (git check-ref-format's rules, for one name under refs/heads/). */
export function isValidBranchName(name: string): boolean {
  // A leading "-" is refused by `git branch` but not in a ref: it is renamed, not left out.
  if (name === "" || name === "@") return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: git refuses control characters
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(name)) return false;
  if (name.includes("..") || name.includes("@{") || name.includes("//")) return false;
  if (name.startsWith("/") || name.endsWith("/") || name.endsWith(".")) return false;
  return name.split("/").every((part) => !part.startsWith(".") && !part.endsWith(".lock"));
}

/**
 * The name a branch of the agent's gets in the host repository, below its slug's prefix.
 * A name of plain letters, digits, ".", "_", "-" and "/" is kept. Any other (shell
 * metacharacters, quotes, non-ASCII, bidi, a part that starts with "-") is renamed: its
 * unsafe runs become "_", and a hash of the original keeps two renamed names apart.
 */
export function safeBranchName(name: string): { name: string; renamed: boolean } {
  const parts = name.split("/");
  const safe = (part: string) =>
    /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(part) && !part.endsWith(".lock");
  if (parts.every(safe)) return { name, renamed: false };
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  const cleaned = parts
    .map((part) =>
      part
        .replace(/[^A-Za-z0-9._-]+/g, "_")
        .replace(/^[.-]+/, "_")
        .replace(/\.lock$/, "_lock"),
    )
    .join("/")
    .slice(0, 80)
    .replace(/[/.]+$/, "");
  return { name: `${cleaned || "branch"}-${hash}`, renamed: true };
}

/**
 * Fetches the agent's branches into `claude-bottle/<slug>/<branch>` in the host repository,
 * keeping only those the agent moved or made; a name git would refuse is left out, a
 * hostile one renamed (the mapping is in the result). Objects are checked as they arrive;
 * the host repository's own branches are never touched.
 */
export async function fetchAgentBranches(
  ws: Workspace,
  bundle: string,
  slug: string,
): Promise<{ branches: KeptBranch[]; warnings: string[] }> {
  const prefix = `claude-bottle/${slug}`;
  const lines = (await git(ws.repoDir, ["bundle", "list-heads", bundle])).split("\n");
  const refspecs: string[] = [];
  const branches: KeptBranch[] = [];
  const warnings: string[] = [];
  const taken = new Set<string>();
  const heads = lines.flatMap((line) => {
    const space = line.indexOf(" ");
    return space < 0 ? [] : [{ sha: line.slice(0, space), ref: line.slice(space + 1) }];
  });
  const isSha = (sha: string | undefined) => sha !== undefined && /^[0-9a-f]{40,64}$/.test(sha);
  for (const { sha, ref } of heads) {
    if (!ref.startsWith("refs/heads/") || !isSha(sha)) continue;
    const agentName = ref.slice("refs/heads/".length);
    if (!isValidBranchName(agentName)) {
      warnings.push(`the agent's branch "${agentName}" is no name git accepts: not kept`);
      continue;
    }
    if (ws.branchTips[agentName] === sha) continue;
    const safe = safeBranchName(agentName);
    if (taken.has(safe.name)) continue;
    taken.add(safe.name);
    refspecs.push(`+${ref}:refs/heads/${prefix}/${safe.name}`);
    branches.push({ branch: `${prefix}/${safe.name}`, agentName, renamed: safe.renamed });
  }
  const detached = heads.find((h) => h.ref === "HEAD")?.sha;
  const onBranch = heads.some((h) => h.sha === detached && h.ref.startsWith("refs/heads/"));
  if (isSha(detached) && !onBranch && detached !== ws.head) {
    refspecs.push(`+HEAD:refs/heads/${prefix}/detached`);
    branches.push({ branch: `${prefix}/detached`, agentName: "HEAD", renamed: false });
  }
  if (refspecs.length === 0) return { branches: [], warnings };
  // git does not check a bundle's objects as it fetches them: they are checked first.
  await checkBundleObjects(bundle);
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
  return { branches, warnings };
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop() ?? "";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
