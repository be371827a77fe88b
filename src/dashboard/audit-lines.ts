// Each audit log entry as one line a person reads: who asked for what and why, who decided
// what and with which note, what changed. The entries' fields are the log's (the agent wrote
// the reasons and names the hosts): the page shows the line as text, never as HTML.

export interface AuditFields {
  event: string;
  id?: unknown;
  request?: unknown;
  reason?: unknown;
  decision?: unknown;
  by?: unknown;
  changes?: unknown;
}

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

/** What a request in the log asked for, in the words `supervise` uses; "?" when unreadable. */
export function requestWords(request: unknown): string {
  if (request === null || typeof request !== "object") return "something unreadable";
  const r = request as Record<string, unknown>;
  if (r.kind === "egress-host" && typeof r.host === "string") {
    const port = Number.isInteger(r.port) ? `port ${r.port}` : "ports 443 and 80";
    return `egress to ${r.host} (${port})`;
  }
  if (r.kind === "gitleaks-exception" && typeof r.fingerprint === "string") {
    return `a gitleaks exception for ${r.fingerprint}`;
  }
  return "something unreadable";
}

/** One entry as a sentence. */
export function auditLine(e: AuditFields): string {
  const id = str(e.id);
  const what = requestWords(e.request);
  const tail = id === null ? "" : ` [${id}]`;
  if (e.event === "proposed") {
    const reason = str(e.reason);
    return `the agent asked for ${what}${reason === null ? "" : `: “${reason}”`}${tail}`;
  }
  if (e.event === "decided") {
    const decision =
      e.decision === "approved" ? "approved" : e.decision === "denied" ? "denied" : "decided on";
    const by = str(e.by) ?? "someone";
    const reason = str(e.reason);
    const changes = Array.isArray(e.changes) ? e.changes.map(String).filter((c) => c !== "") : [];
    return (
      `${by} ${decision} ${what}${reason === null ? "" : ` — “${reason}”`}` +
      `${changes.length === 0 ? "" : `; ${changes.join("; ")}`}${tail}`
    );
  }
  return `${e.event}${what === "something unreadable" ? "" : ` ${what}`}${tail}`;
}
