// A swarm bottle's live state on its node: volumes created and seeded before the stack
// starts, held by a keeper container, and kept in step with the state directory here.
// Supervision (the `supervise` command, the dashboard) reads and writes the state directory
// as for a Compose bottle; on a swarm those files live in volumes on the bottle's node. While the
// started the bottle runs, this mirror brings the agent's proposals here and takes the
// host's answers, policy and allowlist there, within about a second:
// - proposals: node → here (the sidecar writes them; nothing here changes them);
// - answers and the policy snapshot: here → the supervise task, each written under a
//   temporary name and renamed, so the sidecar never reads half an answer;
// - pipelock's policy, the gate's allowlist, the agent's view of its policy: here → their
//   volumes, through the keeper (a stopped container that holds every volume), then pipelock
//   is told to reload.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isProposalId } from "../../contracts/queue-format.js";
import {
  POLICY_SNAPSHOT_FILE,
  QUEUE_ANSWERS_DIR,
  QUEUE_PROPOSALS_DIR,
} from "../../contracts/supervise.js";
import type { DockerBottlePlan } from "../../core/bottle-plan.js";
import { type BottleVolume, bottleVolumes } from "../../core/swarm-stack.js";
import { readTextNoFollow, writeFileAtomic } from "../../shared/queue-files.js";
import { NODE_IMAGE } from "../engine/images.js";
import { extractHarvest } from "../harvest-extract.js";
import { type EngineAt, labelArgs } from "./swarm-engines.js";

export interface MirrorOptions {
  node: EngineAt;
  plan: DockerBottlePlan;
  /** The stopped container on the node that holds every live volume at /m/<key>. */
  keeper: string;
  /** The running container of a service of the bottle on the node, or null. */
  containerOf(service: string): Promise<string | null>;
  progress(line: string): void;
  intervalMs?: number;
}

export interface StateMirror {
  /** One round now: pull, then push what changed. */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

export const KEEPER_MOUNT = "/m";
/** Gives each tree its owner and mode: "$1" owner, "$2" mode, "$3" root, then the next three. */
const KEEPER_OWNERS_SCRIPT =
  'while [ "$#" -ge 3 ]; do chown -R "$1" "$3" && chmod "$2" "$3" || exit 1; shift 3; done';

export function startStateMirror(options: MirrorOptions): StateMirror {
  const volumes = bottleVolumes(options.plan);
  const pushed = new Map<string, string>();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let warned = false;

  const round = async () => {
    try {
      await pullProposals(options, volumes);
      await pushQueue(options, volumes, pushed);
      await pushVolumes(options, volumes, pushed);
    } catch (error) {
      // A round that fails is tried again; said once, not every second.
      if (!warned) {
        warned = true;
        options.progress(
          `warning: could not sync the bottle's state with its node: ${String(error)}`,
        );
      }
    }
  };
  const sync = () => {
    running = running.then(round);
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void sync();
  }, options.intervalMs ?? 1000);
  return {
    sync,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

function queueVolume(volumes: readonly BottleVolume[]): BottleVolume | undefined {
  return volumes.find((v) => v.mount.service === "supervise" && v.mount.writable);
}

/** What one round may bring back of the agent's proposals: far more than any real queue. */
const MAX_PROPOSALS_BYTES = 64 * 1024 * 1024;

/**
 * Proposals, node → here. The sidecar writes them, so they are read as the agent's: the
 * volume's directory comes as one tar stream into a fresh scratch directory (files only,
 * bounded), and each proposal file is renamed into place here, which replaces whatever
 * stands at its name and never writes through it.
 */
export async function pullProposals(
  o: Pick<MirrorOptions, "node" | "keeper">,
  volumes: readonly BottleVolume[],
): Promise<void> {
  const queue = queueVolume(volumes);
  if (queue === undefined) return;
  const scratch = await mkdtemp(join(tmpdir(), "cb-proposals-"));
  try {
    const into = join(scratch, "in");
    const got = await extractFromNode(
      o,
      `${KEEPER_MOUNT}/${queue.key}/${QUEUE_PROPOSALS_DIR}/.`,
      into,
    );
    const target = join(queue.mount.source, QUEUE_PROPOSALS_DIR);
    for (const name of got) {
      if (!name.endsWith(".json") || !isProposalId(name.slice(0, -".json".length))) continue;
      const text = await readTextNoFollow(join(into, name));
      if (text === null) continue;
      if ((await readTextNoFollow(join(target, name)).catch(() => null)) === text) continue;
      await writeFileAtomic(join(target, name), text);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The files of `path` in the keeper, read as a bounded tar stream into the new directory `into`. */
async function extractFromNode(
  o: Pick<MirrorOptions, "node" | "keeper">,
  path: string,
  into: string,
): Promise<string[]> {
  let files: string[] = [];
  const copied = await o.node.run(["cp", `${o.keeper}:${path}`, "-"], {
    allowFailure: true,
    stdoutTo: async (stdout) => {
      files = (
        await extractHarvest(stdout, {
          dir: into,
          maxBytes: MAX_PROPOSALS_BYTES,
          place: (name) => (name.includes("/") ? null : [name]),
        })
      ).files;
    },
  });
  if (copied.exitCode !== 0) {
    throw new Error(
      `docker cp ${o.keeper}:${path} failed: ${copied.stderr.trim().split("\n").pop()}`,
    );
  }
  return files;
}

/** Answers and the policy snapshot, into the running supervise task, renamed into place. */
async function pushQueue(
  o: MirrorOptions,
  volumes: readonly BottleVolume[],
  pushed: Map<string, string>,
): Promise<void> {
  const queue = queueVolume(volumes);
  if (queue === undefined) return;
  const local = queue.mount.source;
  const names = [
    POLICY_SNAPSHOT_FILE,
    ...(await readdir(join(local, QUEUE_ANSWERS_DIR)).catch(() => [] as string[]))
      .filter((n) => n.endsWith(".json"))
      .map((n) => `${QUEUE_ANSWERS_DIR}/${n}`),
  ];
  let container: string | null | undefined;
  for (const name of names) {
    const path = join(local, name);
    const mark = await fingerprint(path);
    if (mark === null || pushed.get(path) === mark) continue;
    container ??= await o.containerOf("supervise");
    if (container === null) return;
    await o.node.run(
      [
        "exec",
        "-i",
        container,
        "sh",
        "-c",
        'cat > "$1.part" && mv -f "$1.part" "$1"',
        "sh",
        `${queue.mount.target}/${name}`,
      ],
      { input: await readFile(path, "utf8") },
    );
    pushed.set(path, mark);
  }
}

/** The host-written live files and directories, into their volumes through the keeper. */
async function pushVolumes(
  o: MirrorOptions,
  volumes: readonly BottleVolume[],
  pushed: Map<string, string>,
): Promise<void> {
  for (const v of volumes) {
    if (v.mount.writable) continue; // the queue: the sidecar's, handled above
    const mark =
      v.file === null ? await treeFingerprint(v.mount.source) : await fingerprint(v.mount.source);
    if (mark === null || pushed.get(v.mount.source) === mark) continue;
    if (pushed.has(v.mount.source)) {
      const into = `${o.keeper}:${KEEPER_MOUNT}/${v.key}/${v.file ?? "."}`;
      await o.node.run(["cp", v.file === null ? `${v.mount.source}/.` : v.mount.source, into]);
      if (v.mount.service === "pipelock") {
        const pipelock = await o.containerOf("pipelock");
        if (pipelock !== null)
          await o.node.run(["kill", "-s", "HUP", pipelock], { allowFailure: true });
      }
    }
    // The first round only notes what the seed already put there.
    pushed.set(v.mount.source, mark);
    // What is in force on the node now, for `supervise approve` to wait on (waitUntilOnNode).
    await writeFile(onNodeMarkPath(v.mount.source), mark);
  }
}

/**
 * Beside a live file or directory of the state directory: the fingerprint of the version
 * the mirror last put in its volume on the node (and, for pipelock's policy, signalled).
 */
export function onNodeMarkPath(source: string): string {
  return `${source}.on-node`;
}

/**
 * Waits until the mirror has put the current version of `source` (a live file or directory
 * of a swarm bottle's state) in force on the node; false after `timeoutMs` (no mirror runs:
 * the CLI that started the bottle has gone).
 */
export async function waitUntilOnNode(source: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const isDir = await stat(source).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const mark = isDir ? await treeFingerprint(source) : await fingerprint(source);
    const onNode = await readFile(onNodeMarkPath(source), "utf8").catch(() => null);
    if (mark !== null && onNode === mark) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function fingerprint(path: string): Promise<string | null> {
  try {
    const s = await stat(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return null;
  }
}

async function treeFingerprint(dir: string): Promise<string | null> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return null;
  }
  const marks = await Promise.all(
    names.map(async (n) => `${n}=${await fingerprint(join(dir, n))}`),
  );
  return marks.join(",");
}

/** The stopped container on a bottle's node that holds each of its volumes at /m/<key>. */
export function keeperName(slug: string): string {
  return `claude-bottle-keeper-${slug}`;
}

/**
 * Creates each volume of the bottle on its node and fills it from the state directory, owner
 * and mode included, before any task mounts it. The keeper, a container of the Node image
 * that never runs a program of its own, holds them all, so the host's later changes can be
 * copied in (the state mirror) whether or not the service that reads them is running.
 */
export async function createKeeper(node: EngineAt, plan: DockerBottlePlan): Promise<string> {
  const volumes = bottleVolumes(plan);
  // Owner, mode and root of each tree, as the keeper script's positional arguments.
  const roots: string[] = [];
  for (const v of volumes) {
    await node.run(["volume", "create", ...labelArgs(plan), v.name]);
    if (v.file === null) {
      const st = await stat(v.mount.source);
      // docker cp into a container that is not running leaves root as the owner: the tree
      // takes its source root's owner (as prepare gives the queue to the sidecar's user).
      roots.push(`${st.uid}:${st.gid}`, (st.mode & 0o7777).toString(8), `${KEEPER_MOUNT}/${v.key}`);
    }
  }
  const keeper = keeperName(plan.slug);
  await node.run([
    "create",
    "--name",
    keeper,
    ...labelArgs(plan),
    "--network",
    "none",
    "-u",
    "0",
    ...volumes.flatMap((v) => ["-v", `${v.name}:${KEEPER_MOUNT}/${v.key}`]),
    "--entrypoint",
    "sh",
    NODE_IMAGE,
    "-c",
    KEEPER_OWNERS_SCRIPT,
    "sh",
    ...roots,
  ]);
  for (const v of volumes) {
    const into = `${keeper}:${KEEPER_MOUNT}/${v.key}/${v.file ?? "."}`;
    await node.run(["cp", v.file === null ? `${v.mount.source}/.` : v.mount.source, into]);
  }
  await node.run(["start", "-a", keeper]);
  return keeper;
}

/** The running container of a swarm service on `node`, or null. */
export async function runningContainer(node: EngineAt, service: string): Promise<string | null> {
  const r = await node.run(
    ["ps", "--filter", `label=com.docker.swarm.service.name=${service}`, "--format", "{{.Names}}"],
    { allowFailure: true },
  );
  return r.stdout.split("\n").find(Boolean) ?? null;
}
