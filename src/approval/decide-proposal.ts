// Deciding a proposal on the host, exactly once: under the bottle's decision lock, claim the
// proposal with an exclusive create of `answers/<id>.claim` (a second approve or deny finds
// it and is refused), apply an approval, publish the new policy, audit the decision, and
// only then write the answer the waiting agent sees, so "approved" always means "in force".
// A claim left by a process that died mid-way is finished by deciding the same way again.
import { open, rm } from "node:fs/promises";
import { hostname } from "node:os";
import {
  type Answer,
  AnswerSchema,
  type Claim,
  ClaimSchema,
  type Decision,
  type Proposal,
  type ProposalRequest,
} from "../contracts/queue-format.js";
import { BottleError, InputError } from "../shared/errors.js";
import { answerPath, claimPath, toJsonText, writeFileAtomic } from "../shared/queue-files.js";
import { type ApplyContext, applyApproval } from "./apply-approval.js";
import { appendAuditEntries, readAuditEntries } from "./audit-log.js";
import { withFileLock } from "./file-lock.js";
import {
  type QueuedProposal,
  type QueueScan,
  readQueuedProposal,
  scanProposals,
} from "./host-queue.js";
import { refreshPolicySnapshot } from "./policy-snapshot.js";
import type { SupervisedBottle } from "./supervised-bottle.js";

export interface DecideContext extends ApplyContext {
  now: () => Date;
  /** Who decides: the host user, e.g. "alice@laptop". */
  actor: string;
}

export interface DecisionOutcome {
  id: string;
  slug: string;
  decision: Decision;
  reason: string | null;
  request: ProposalRequest;
  changes: string[];
  /** A decision interrupted earlier was finished. */
  resumed: boolean;
}

export function decisionLockPath(bottle: SupervisedBottle): string {
  return `${bottle.auditLog}.lock`;
}

/** Refused: the proposal already has its one decision. */
export class AlreadyDecidedError extends BottleError {
  constructor(id: string, answer: Answer) {
    super(
      `proposal ${id} was already ${answer.decision} by ${answer.by} at ${answer.decidedAt}` +
        (answer.reason ? ` (${answer.reason})` : ""),
      { hint: "a proposal is decided once; the agent can file a new one" },
    );
    this.name = "AlreadyDecidedError";
  }
}

export async function decideProposal(
  ctx: DecideContext,
  queued: QueuedProposal,
  wanted: { decision: Decision; reason: string | null },
): Promise<DecisionOutcome> {
  const { bottle } = queued;
  const id = queued.proposal.id;
  const given = wanted.reason?.trim() || null;
  if (wanted.decision === "denied" && given === null) {
    throw new InputError("a denial needs a reason, which the agent is told", {
      hint: `claude-bottle supervise deny ${id} --reason "…"`,
    });
  }
  return withFileLock(decisionLockPath(bottle), async () => {
    // Read again under the lock: another process may have decided meanwhile.
    const fresh = await readQueuedProposal(bottle, id);
    if (fresh === null) throw new InputError(`proposal ${id} is gone from bottle ${bottle.slug}`);
    await auditProposalsLocked(ctx, bottle, [fresh.proposal]);
    if (fresh.answer !== null) throw new AlreadyDecidedError(id, fresh.answer);
    let reason = given;
    let resumed = false;
    if (fresh.claim !== null) {
      if (fresh.claim.decision !== wanted.decision) throw interruptedOther(id, fresh.claim);
      resumed = true;
      reason = given ?? fresh.claim.reason;
    } else {
      // Under the lock, a torn claim is one whose process died before applying anything.
      if (fresh.claimUnreadable) await rm(claimPath(bottle.queueDir, id), { force: true });
      await claim(ctx, bottle, { id, decision: wanted.decision, reason });
    }
    let changes: string[] = [];
    if (wanted.decision === "approved") {
      try {
        changes = await applyApproval(ctx, bottle, fresh.proposal.request);
      } catch (error) {
        // Nothing was applied: release the claim so the proposal can be decided again.
        if (!resumed) await rm(claimPath(bottle.queueDir, id), { force: true });
        throw error;
      }
      await refreshPolicySnapshot(bottle, ctx.now());
    }
    const answer = AnswerSchema.parse({
      version: 1,
      id,
      decision: wanted.decision,
      reason,
      by: ctx.actor,
      decidedAt: ctx.now().toISOString(),
      changes,
    });
    await auditDecidedOnce(ctx, bottle, fresh.proposal.request, answer);
    await writeFileAtomic(answerPath(bottle.queueDir, id), toJsonText(answer));
    return {
      id,
      slug: bottle.slug,
      decision: answer.decision,
      reason: answer.reason,
      request: fresh.proposal.request,
      changes,
      resumed,
    };
  });
}

/**
 * The "decided" entry of the audit log, unless it is there already: a decision interrupted
 * after it was written and resumed writes it once.
 */
async function auditDecidedOnce(
  ctx: Pick<DecideContext, "now">,
  bottle: SupervisedBottle,
  request: Proposal["request"],
  answer: Answer,
): Promise<void> {
  const audited = await readAuditEntries(bottle.auditLog);
  if (audited.some((e) => e.event === "decided" && e.id === answer.id)) return;
  const entry = {
    event: "decided" as const,
    slug: bottle.slug,
    id: answer.id,
    request,
    decision: answer.decision,
    reason: answer.reason,
    by: answer.by,
    changes: answer.changes,
  };
  await appendAuditEntries(bottle.auditLog, [entry], ctx.now);
}

/**
 * The proposals queued in these bottles, each recorded in its bottle's audit log the first
 * time the host sees it (by the CLI or the dashboard, whichever looks first).
 */
export async function scanAndAuditProposals(
  ctx: Pick<DecideContext, "now">,
  bottles: readonly SupervisedBottle[],
): Promise<QueueScan> {
  const scan = await scanProposals(bottles);
  for (const bottle of bottles) {
    const mine = scan.proposals.filter((p) => p.bottle.slug === bottle.slug);
    await auditProposals(
      ctx,
      bottle,
      mine.map((p) => p.proposal),
    );
  }
  return scan;
}

/** Records in the audit log the proposals it has not seen yet ("proposed" entries). */
export async function auditProposals(
  ctx: Pick<DecideContext, "now">,
  bottle: SupervisedBottle,
  proposals: readonly Proposal[],
): Promise<number> {
  if (proposals.length === 0) return 0;
  // Most scans find nothing new: look before taking the lock (and look again under it).
  const seen = new Set((await readAuditEntries(bottle.auditLog)).map((e) => e.id));
  if (proposals.every((p) => seen.has(p.id))) return 0;
  return withFileLock(decisionLockPath(bottle), () => auditProposalsLocked(ctx, bottle, proposals));
}

async function auditProposalsLocked(
  ctx: Pick<DecideContext, "now">,
  bottle: SupervisedBottle,
  proposals: readonly Proposal[],
): Promise<number> {
  const seen = new Set(
    (await readAuditEntries(bottle.auditLog))
      .filter((e) => e.event === "proposed")
      .map((e) => e.id),
  );
  const unseen = proposals.filter((p) => !seen.has(p.id));
  await appendAuditEntries(
    bottle.auditLog,
    unseen.map((p) => ({
      event: "proposed",
      slug: p.slug,
      id: p.id,
      request: p.request,
      reason: p.reason,
      proposedAt: p.createdAt,
    })),
    ctx.now,
  );
  return unseen.length;
}

async function claim(
  ctx: DecideContext,
  bottle: SupervisedBottle,
  wanted: { id: string; decision: Decision; reason: string | null },
): Promise<void> {
  const record: Claim = ClaimSchema.parse({
    version: 1,
    ...wanted,
    by: ctx.actor,
    pid: process.pid,
    hostname: hostname(),
    at: ctx.now().toISOString(),
  });
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // The exclusive create is what makes a decision happen once, whoever else tries.
    handle = await open(claimPath(bottle.queueDir, wanted.id), "wx", 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new BottleError(`proposal ${wanted.id} is being decided by another process`, {
        hint: "look again with `claude-bottle supervise show`",
      });
    }
    throw error;
  }
  try {
    await handle.writeFile(toJsonText(record));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function interruptedOther(id: string, claimed: Claim): InputError {
  const verb = claimed.decision === "approved" ? "approve" : "deny";
  return new InputError(
    `proposal ${id} was being ${claimed.decision} by ${claimed.by} at ${claimed.at} when that was interrupted`,
    { hint: `finish that decision with \`claude-bottle supervise ${verb} ${id}\`` },
  );
}
