// The host's view of every supervised bottle's queue: each proposal with its claim and
// answer, and what state that puts it in. Read-only; a file that fails validation is
// reported as a problem and skipped, never acted on.

import {
  type Answer,
  AnswerSchema,
  type Claim,
  ClaimSchema,
  type Proposal,
  ProposalSchema,
} from "../contracts/queue-format.js";
import { InputError } from "../shared/errors.js";
import {
  answerPath,
  claimPath,
  listProposalIds,
  proposalPath,
  QueueFileError,
  readQueueFile,
} from "../shared/queue-files.js";
import { terminalSafe } from "../shared/terminal-text.js";
import type { SupervisedBottle } from "./supervised-bottle.js";

/** "deciding": claimed by a host process that has not written the answer (yet, or ever). */
export type ProposalStatus = "pending" | "deciding" | "approved" | "denied";

export interface QueuedProposal {
  bottle: SupervisedBottle;
  proposal: Proposal;
  claim: Claim | null;
  /** A claim file exists but is empty or torn: its process died before writing it out. */
  claimUnreadable: boolean;
  answer: Answer | null;
  status: ProposalStatus;
}

export interface QueueScan {
  proposals: QueuedProposal[];
  /** Files that could not be read or did not validate. */
  problems: string[];
}

export async function readQueuedProposal(
  bottle: SupervisedBottle,
  id: string,
): Promise<QueuedProposal | null> {
  const proposal = await readQueueFile(proposalPath(bottle.queueDir, id), ProposalSchema);
  if (proposal === null) return null;
  if (proposal.id !== id || proposal.slug !== bottle.slug) {
    throw new QueueFileError(
      proposalPath(bottle.queueDir, id),
      `names proposal ${proposal.id} of bottle ${proposal.slug}`,
    );
  }
  let claim: Claim | null = null;
  let claimUnreadable = false;
  try {
    claim = await readQueueFile(claimPath(bottle.queueDir, id), ClaimSchema);
  } catch (error) {
    if (!(error instanceof QueueFileError)) throw error;
    claimUnreadable = true;
  }
  const answer = await readQueueFile(answerPath(bottle.queueDir, id), AnswerSchema);
  const status: ProposalStatus =
    answer !== null ? answer.decision : claim !== null || claimUnreadable ? "deciding" : "pending";
  return { bottle, proposal, claim, claimUnreadable, answer, status };
}

/** Every proposal of every bottle, oldest first. */
export async function scanProposals(bottles: readonly SupervisedBottle[]): Promise<QueueScan> {
  const proposals: QueuedProposal[] = [];
  const problems: string[] = [];
  for (const bottle of bottles) {
    for (const id of await listProposalIds(bottle.queueDir)) {
      try {
        const queued = await readQueuedProposal(bottle, id);
        if (queued !== null) proposals.push(queued);
      } catch (error) {
        if (!(error instanceof QueueFileError)) throw error;
        problems.push(error.message);
      }
    }
  }
  proposals.sort((a, b) => a.proposal.createdAt.localeCompare(b.proposal.createdAt));
  return { proposals, problems };
}

/** The one proposal whose id is `idOrPrefix` or starts with it. */
export function findProposal(
  proposals: readonly QueuedProposal[],
  idOrPrefix: string,
): QueuedProposal {
  const wanted = idOrPrefix.trim().toLowerCase();
  const exact = proposals.find((p) => p.proposal.id === wanted);
  if (exact !== undefined) return exact;
  const matches =
    wanted.length >= 3 ? proposals.filter((p) => p.proposal.id.startsWith(wanted)) : [];
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  if (matches.length > 1) {
    throw new InputError(
      `"${terminalSafe(idOrPrefix)}" matches ${matches.length} proposals: ${matches.map((m) => m.proposal.id).join(", ")}`,
      { hint: "give more of the id" },
    );
  }
  throw new InputError(`no proposal "${terminalSafe(idOrPrefix)}"`, {
    hint: "run `claude-bottle supervise list --all` to see the proposals on this machine",
  });
}
