// The sidecar's side of the queue: files a proposal, reads its answer, waits for one. All
// state is in files, none in memory, so a restarted sidecar answers for every proposal the
// previous one filed. The sidecar never writes an answer: only the host decides.
//
// Filing is check-then-write, so it is made atomic twice over: filings in this process run
// one at a time, and each request's proposal is claimed by an exclusive create of a file
// named by the request's key, which two processes cannot both win. Identical requests filed
// at once therefore collapse into one proposal, and every caller waits on that one.
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Answer,
  AnswerSchema,
  isProposalId,
  newProposalId,
  type PolicySnapshot,
  PolicySnapshotSchema,
  type Proposal,
  type ProposalRequest,
  ProposalRequestSchema,
  ProposalSchema,
} from "../../contracts/queue-format.js";
import {
  SUPERVISE_MAX_PENDING_PROPOSALS,
  SUPERVISE_POLL_INTERVAL_MS,
} from "../../contracts/supervise.js";
import { pathExists } from "../../shared/path-exists.js";
import {
  answerPath,
  createFileExclusive,
  ensureQueueDirs,
  listProposalIds,
  proposalPath,
  queuePaths,
  readQueueFile,
  readTextNoFollow,
  toJsonText,
  writeFileAtomic,
} from "../../shared/queue-files.js";

/** The agent has as many proposals waiting as a person can be asked to read; told, not filed. */
export class PendingLimitError extends Error {
  constructor(readonly limit: number) {
    super(
      `${limit} proposals of this bottle are already waiting for the human; nothing more is ` +
        "filed until some are answered. Wait on the ones you have (proposal_status with " +
        "wait_seconds, or list_proposals), and ask for what matters most.",
    );
    this.name = "PendingLimitError";
  }
}

/**
 * A key file whose proposal has not appeared after this long was left by a filer that died
 * between the two writes; the request's next proposal is filed after it.
 */
const ABANDONED_KEY_MS = 10_000;

export interface ProposalQueueOptions {
  queueDir: string;
  slug: string;
  now?: () => Date;
  newId?: () => string;
  pollMs?: number;
  /** Proposals that may wait for the human at once; default SUPERVISE_MAX_PENDING_PROPOSALS. */
  maxPending?: number;
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
  private readonly maxPending: number;
  /** The filing in progress; the next one starts when it settles. */
  private filing: Promise<unknown> = Promise.resolve();

  constructor(options: ProposalQueueOptions) {
    this.queueDir = options.queueDir;
    this.slug = options.slug;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? (() => newProposalId());
    this.pollMs = options.pollMs ?? SUPERVISE_POLL_INTERVAL_MS;
    this.maxPending = options.maxPending ?? SUPERVISE_MAX_PENDING_PROPOSALS;
  }

  /**
   * Files a proposal, or returns the pending one that asks for the same thing: an agent
   * that repeats a request (after a timeout, a restart, or fifty times at once) waits on the
   * one proposal instead of queueing duplicates for the human. The first reason is kept: a
   * filed proposal never changes under the person reading it, and repeats cannot grow it.
   * Throws PendingLimitError when a new proposal would pass the cap.
   */
  submit(
    request: ProposalRequest,
    reason: string,
  ): Promise<{ proposal: Proposal; reused: boolean }> {
    const filed = this.filing.then(() => this.fileOnce(request, reason));
    this.filing = filed.catch(() => undefined);
    return filed;
  }

  private async fileOnce(
    request: ProposalRequest,
    reason: string,
  ): Promise<{ proposal: Proposal; reused: boolean }> {
    // In normal form (lowercase host, no trailing dot) or refused: the key depends on it.
    const normal = ProposalRequestSchema.parse(request);
    await ensureQueueDirs(this.queueDir);
    const key = requestKey(normal);
    // The request's proposals form a chain of key files: "<key>", then "<key>-<id>" after
    // proposal <id> is answered. Every filer walks the same chain and races only for its
    // first free link, which exactly one of them creates.
    let link = keyPath(this.queueDir, key, null);
    for (;;) {
      const holder = await readKeyHolder(link);
      if (holder === null) {
        await this.assertBelowPendingCap();
        const id = await this.unusedId();
        if (!(await createFileExclusive(link, `${id}\n`))) continue;
        const proposal = ProposalSchema.parse({
          version: 1,
          id,
          slug: this.slug,
          createdAt: this.now().toISOString(),
          request: normal,
          reason: reason.trim(),
        });
        await writeFileAtomic(proposalPath(this.queueDir, id), toJsonText(proposal));
        return { proposal, reused: false };
      }
      const state = await this.stateOfHolder(holder, link);
      if (state !== null && state.answer === null && sameKey(state.proposal.request, key)) {
        return { proposal: state.proposal, reused: true };
      }
      link = keyPath(this.queueDir, key, holder);
    }
  }

  /** The holder's proposal, waiting a little for a filer that has claimed but not written it. */
  private async stateOfHolder(id: string, link: string): Promise<ProposalState | null> {
    for (;;) {
      const state = await this.state(id);
      if (state !== null) return state;
      const age = Date.now() - (await stat(link)).mtimeMs;
      if (age > ABANDONED_KEY_MS) return null;
      await sleep(Math.min(this.pollMs, 50));
    }
  }

  private async assertBelowPendingCap(): Promise<void> {
    const pending = (await this.list()).filter((s) => s.answer === null).length;
    if (pending >= this.maxPending) throw new PendingLimitError(this.maxPending);
  }

  private async unusedId(): Promise<string> {
    let id = this.newId();
    while (await pathExists(proposalPath(this.queueDir, id))) id = this.newId();
    return id;
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

/**
 * A request's identity as a file name: equal exactly when the requests ask for the same
 * thing, in normal form (so "API.example.test." and "api.example.test" are one key).
 */
export function requestKey(request: ProposalRequest): string {
  return createHash("sha256").update(describeKey(request)).digest("hex").slice(0, 32);
}

function describeKey(request: ProposalRequest): string {
  return request.kind === "egress-host"
    ? `egress-host\n${request.host}\n${request.port ?? "web"}`
    : `gitleaks-exception\n${request.fingerprint}`;
}

function sameKey(request: ProposalRequest, key: string): boolean {
  return requestKey(request) === key;
}

function keyPath(queueDir: string, key: string, after: string | null): string {
  return join(queuePaths(queueDir).keys, after === null ? key : `${key}-${after}`);
}

/** The proposal id a key file names; null when there is no such file. */
async function readKeyHolder(path: string): Promise<string | null> {
  const text = await readTextNoFollow(path);
  if (text === null) return null;
  const id = text.trim();
  if (!isProposalId(id)) throw new Error(`${path}: does not name a proposal`);
  return id;
}
