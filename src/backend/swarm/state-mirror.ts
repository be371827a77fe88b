// A swarm bottle's live state, kept in step with its state directory here. Supervision (the
// `supervise` command, the dashboard) reads and writes the state directory as for a Compose
// bottle; on a swarm those files live in volumes on the bottle's node. While the CLI that
// started the bottle runs, this mirror brings the agent's proposals here and takes the
// host's answers, policy and allowlist there, within about a second:
// - proposals: node → here (the sidecar writes them; nothing here changes them);
// - answers and the policy snapshot: here → the supervise task, each written under a
//   temporary name and renamed, so the sidecar never reads half an answer;
// - pipelock's policy, the gate's allowlist, the agent's view of its policy: here → their
//   volumes, through the keeper (a stopped container that holds every volume), then pipelock
//   is told to reload.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  POLICY_SNAPSHOT_FILE,
  QUEUE_ANSWERS_DIR,
  QUEUE_PROPOSALS_DIR,
} from "../../contracts/supervise.js";
import type { DockerBottlePlan } from "../../core/bottle-plan.js";
import { type BottleVolume, bottleVolumes } from "../../core/swarm-stack.js";
import type { EngineAt } from "./swarm-engines.js";

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

async function pullProposals(o: MirrorOptions, volumes: readonly BottleVolume[]): Promise<void> {
  const queue = queueVolume(volumes);
  if (queue === undefined) return;
  await o.node.run([
    "cp",
    `${o.keeper}:${KEEPER_MOUNT}/${queue.key}/${QUEUE_PROPOSALS_DIR}/.`,
    join(queue.mount.source, QUEUE_PROPOSALS_DIR),
  ]);
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
