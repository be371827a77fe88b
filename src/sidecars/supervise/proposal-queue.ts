// The sidecar's side of the queue: files a proposal, reads its answer, waits for one. All
// state is in files, none in memory, so a restarted sidecar answers for every proposal the
// previous one filed. The sidecar never writes an answer: only the host decides.
import { access } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { SUPERVISE_POLL_INTERVAL_MS } from "./constants.js";
import {
  answerPath,
  ensureQueueDirs,
  listProposalIds,
  proposalPath,
  queuePaths,
  readQueueFile,
  toJsonText,
  writeFileAtomic,
} from "./queue-files.js";
import {
  type Answer,
  AnswerSchema,
  isProposalId,
  newProposalId,
  type PolicySnapshot,
  PolicySnapshotSchema,
  type Proposal,
  type ProposalRequest,
  ProposalSchema,
  sameRequest,
} from "./queue-format.js";

export interface ProposalQueueOptions {
  queueDir: string;
  slug: string;
  now?: () => Date;
  newId?: () => string;
  pollMs?: number;
}

export interface ProposalState {
  proposal: Proposal;
  answer: Answer | null;
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called about every `tickMs` while waiting, with the time waited so far. */
  onTick?: (waitedMs: number) => void | Promise<void>;
  tickMs?: number;
}

export class ProposalQueue {
  readonly queueDir: string;
  readonly slug: string;
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly pollMs: number;

  constructor(options: ProposalQueueOptions) {
    this.queueDir = options.queueDir;
    this.slug = options.slug;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? (() => newProposalId());
    this.pollMs = options.pollMs ?? SUPERVISE_POLL_INTERVAL_MS;
  }

  /**
   * Files a proposal, or returns the pending one that asks for the same thing: an agent
   * that repeats a request after a timeout or a restart resumes waiting instead of queueing
   * a duplicate for the human.
   */
  async submit(
    request: ProposalRequest,
    reason: string,
  ): Promise<{ proposal: Proposal; reused: boolean }> {
    await ensureQueueDirs(this.queueDir);
    for (const state of await this.list()) {
      if (state.answer === null && sameRequest(state.proposal.request, request)) {
        return { proposal: state.proposal, reused: true };
      }
    }
    let id = this.newId();
    while (await exists(proposalPath(this.queueDir, id))) id = this.newId();
    const proposal = ProposalSchema.parse({
      version: 1,
      id,
      slug: this.slug,
      createdAt: this.now().toISOString(),
      request,
      reason: reason.trim(),
    });
    await writeFileAtomic(proposalPath(this.queueDir, id), toJsonText(proposal));
    return { proposal, reused: false };
  }

  /** The proposal and its answer; null when there is no such proposal in this queue. */
  async state(id: string): Promise<ProposalState | null> {
    if (!isProposalId(id)) return null;
    const proposal = await readQueueFile(proposalPath(this.queueDir, id), ProposalSchema);
    if (proposal === null) return null;
    return { proposal, answer: await this.answer(id) };
  }

  async answer(id: string): Promise<Answer | null> {
    const answer = await readQueueFile(answerPath(this.queueDir, id), AnswerSchema);
    return answer !== null && answer.id === id ? answer : null;
  }

  /** Every proposal of this queue, oldest first. */
  async list(): Promise<ProposalState[]> {
    const states: ProposalState[] = [];
    for (const id of await listProposalIds(this.queueDir)) {
      const state = await this.state(id);
      if (state !== null) states.push(state);
    }
    return states.sort((a, b) => a.proposal.createdAt.localeCompare(b.proposal.createdAt));
  }

  /** Polls for the answer; null when `timeoutMs` passed or `signal` aborted first. */
  async waitForAnswer(id: string, options: WaitOptions): Promise<Answer | null> {
    const started = Date.now();
    const tickMs = options.tickMs ?? 10_000;
    let nextTick = tickMs;
    for (;;) {
      const answer = await this.answer(id);
      if (answer !== null) return answer;
      const waited = Date.now() - started;
      if (waited >= options.timeoutMs || options.signal?.aborted) return null;
      if (waited >= nextTick) {
        nextTick += tickMs;
        await options.onTick?.(waited);
      }
      try {
        await sleep(Math.min(this.pollMs, options.timeoutMs - waited), undefined, {
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch {
        return null;
      }
    }
  }

  /** The policy the host last published, or null before the first. */
  async policy(): Promise<PolicySnapshot | null> {
    return readQueueFile(queuePaths(this.queueDir).policy, PolicySnapshotSchema);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
