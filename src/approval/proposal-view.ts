// How a proposal is shown to the human: as JSON for scripts, as text for a terminal. Every
// string read from the queue goes through terminalSafe first (the JSON through
// terminalSafeJson): a reason holding terminal escape sequences or bidi overrides must not be
// able to redraw what the human reads before deciding.
import { describeRequest } from "../contracts/queue-format.js";
import { terminalSafe } from "../shared/terminal-text.js";
import type { QueuedProposal } from "./host-queue.js";

/** The JSON shape of a proposal in `--json` output. */
export function proposalView(q: QueuedProposal) {
  return {
    id: q.proposal.id,
    slug: q.bottle.slug,
    status: q.status,
    createdAt: q.proposal.createdAt,
    request: q.proposal.request,
    reason: q.proposal.reason,
    claim: q.claim === null ? null : { decision: q.claim.decision, by: q.claim.by, at: q.claim.at },
    answer: q.answer,
  };
}

/** One line of agent-written text for a terminal, at most `max` characters. */
export function shownLine(text: string, max?: number): string {
  return terminalSafe(text, max === undefined ? {} : { max });
}

export function formatAge(from: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(from)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** The row `supervise list` shows: id, bottle, status, age, what, reason. */
export function proposalRow(q: QueuedProposal, now: Date): string[] {
  return [
    shownLine(q.proposal.id),
    shownLine(q.bottle.slug),
    q.status,
    formatAge(q.proposal.createdAt, now),
    shownLine(describeRequest(q.proposal.request), 70),
    shownLine(q.proposal.reason, 60),
  ];
}

/** The full text `supervise show` prints. */
export function proposalDetails(q: QueuedProposal, now: Date): string {
  const lines = [
    `proposal  ${shownLine(q.proposal.id)}`,
    `bottle    ${shownLine(q.bottle.slug)}`,
    `status    ${q.status}`,
    `filed     ${shownLine(q.proposal.createdAt)} (${formatAge(q.proposal.createdAt, now)} ago)`,
    `asks for  ${shownLine(describeRequest(q.proposal.request))}`,
    `reason    ${terminalSafe(q.proposal.reason, { multiline: true }).replace(/\n/g, "\n          ")}`,
  ];
  if (q.answer !== null) {
    lines.push(
      `decided   ${q.answer.decision} by ${shownLine(q.answer.by)} at ${shownLine(q.answer.decidedAt)}` +
        (q.answer.reason ? `: ${shownLine(q.answer.reason)}` : ""),
    );
    for (const change of q.answer.changes) lines.push(`          - ${shownLine(change)}`);
  } else if (q.claim !== null) {
    lines.push(
      `claimed   ${q.claim.decision} by ${shownLine(q.claim.by)} at ${shownLine(q.claim.at)}, not finished`,
    );
  }
  return `${lines.join("\n")}\n`;
}
