// How a proposal is shown to the human: as JSON for scripts, as text for a terminal. Every
// string that came from the agent is made printable first: a reason holding terminal escape
// sequences or bidi overrides must not be able to redraw what the human reads before deciding.
import { describeRequest } from "../contracts/queue-format.js";
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

/** C0 and C1 controls but newline and tab, DEL, and Unicode bidi controls and separators. */
function isUnprintable(cp: number): boolean {
  if (cp === 0x0a || cp === 0x09) return false;
  return (
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x061c ||
    cp === 0x200e ||
    cp === 0x200f ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069)
  );
}

/** `text` with every control and bidi character written as \u{…}; newlines and tabs kept. */
export function printable(text: string): string {
  let out = "";
  for (const c of text) {
    const cp = c.codePointAt(0) ?? 0;
    out += isUnprintable(cp) ? `\\u{${cp.toString(16).padStart(4, "0")}}` : c;
  }
  return out;
}

/** One line: newlines too become visible escapes. */
export function printableLine(text: string, max = Number.POSITIVE_INFINITY): string {
  const line = printable(text).replace(/\n/g, "\\n").replace(/\t/g, " ");
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
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
    q.proposal.id,
    q.bottle.slug,
    q.status,
    formatAge(q.proposal.createdAt, now),
    printableLine(describeRequest(q.proposal.request), 70),
    printableLine(q.proposal.reason, 60),
  ];
}

/** The full text `supervise show` prints. */
export function proposalDetails(q: QueuedProposal, now: Date): string {
  const lines = [
    `proposal  ${q.proposal.id}`,
    `bottle    ${q.bottle.slug}`,
    `status    ${q.status}`,
    `filed     ${q.proposal.createdAt} (${formatAge(q.proposal.createdAt, now)} ago)`,
    `asks for  ${printableLine(describeRequest(q.proposal.request))}`,
    `reason    ${printable(q.proposal.reason).replace(/\n/g, "\n          ")}`,
  ];
  if (q.answer !== null) {
    lines.push(
      `decided   ${q.answer.decision} by ${printableLine(q.answer.by)} at ${q.answer.decidedAt}` +
        (q.answer.reason ? `: ${printableLine(q.answer.reason)}` : ""),
    );
    for (const change of q.answer.changes) lines.push(`          - ${printableLine(change)}`);
  } else if (q.claim !== null) {
    lines.push(
      `claimed   ${q.claim.decision} by ${printableLine(q.claim.by)} at ${q.claim.at}, not finished`,
    );
  }
  return `${lines.join("\n")}\n`;
}
