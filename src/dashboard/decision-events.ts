// The decisions the sidecars log, as the dashboard shows them: pipelock's audit lines (every
// allow, refusal and DLP hit), egress's request lines (routed calls and its own refusals) and
// git-gate's verdict lines (one per push), each read from its container's output one JSON
// line at a time. Only named fields are kept,
// and those are already redacted at the source; any other text on the log is passed over.

export type DecisionSource = "pipelock" | "egress" | "git-gate";
/** allow: let through; refuse: stopped by policy; dlp: a DLP rule matched; error: failed. */
export type DecisionKind = "allow" | "refuse" | "dlp" | "error";

export interface DecisionEvent {
  /** Assigned by the hub, increasing by one: a gap means a lost event. */
  seq: number;
  slug: string;
  source: DecisionSource;
  at: string;
  kind: DecisionKind;
  /** The sidecar's own word: allowed, denied, dlp_block, intercept, refused, … */
  verdict: string;
  method: string;
  host: string | null;
  port: number | null;
  path: string | null;
  /** The rule that decided: a DLP rule id, "not-allowlisted", "route", … */
  rule: string | null;
  /**
   * Where the decision was taken: for a DLP hit, where in the request it matched (header,
   * body, query, …); otherwise the stage: the tunnel (CONNECT), a request inside it or
   * through the proxy, a route of egress, egress's proxy, a push (with its findings).
   */
  place: string | null;
  status: number | null;
  /** egress: a route matched and its token was added. */
  routed: boolean;
  /** egress: the request body's bytes sent upstream; null when the line does not say. */
  requestBytes: number | null;
  /** egress: the response body's bytes as the upstream sent them; null when not said. */
  responseBytes: number | null;
  /** pipelock, a rate-limit refusal: its bucket (host or wildcard) and the totals so far. */
  rate?: { key: string; bursts: number; refusals: number };
}

export type ParsedDecision = Omit<DecisionEvent, "seq">;

const PIPELOCK_KINDS: Record<string, DecisionKind> = {
  allowed: "allow",
  denied: "refuse",
  dlp_block: "dlp",
  dlp_warn: "dlp",
  error: "error",
};

function jsonObject(line: string): Record<string, unknown> | null {
  if (!line.startsWith("{")) return null;
  try {
    const value = JSON.parse(line) as unknown;
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

const text = (v: unknown, max = 512): string | null =>
  typeof v === "string" ? (v.length > max ? `${v.slice(0, max)}…` : v) : null;
const int = (v: unknown): number | null => (Number.isInteger(v) ? (v as number) : null);

/** The stage of pipelock a line without a location was decided at. */
function pipelockStage(e: Record<string, unknown>): string {
  if (e.method === "CONNECT") return "tunnel";
  return "request";
}

/** One line of pipelock's audit log, or null when it is not one. */
export function parsePipelockLine(line: string, slug: string): ParsedDecision | null {
  const e = jsonObject(line);
  if (e === null || typeof e.decision !== "string") return null;
  const kind = PIPELOCK_KINDS[e.decision];
  if (kind === undefined) return null;
  return {
    slug,
    source: "pipelock",
    at: text(e.ts, 64) ?? "",
    kind,
    verdict: e.decision,
    method: text(e.method, 32) ?? "",
    host: text(e.host, 256),
    port: int(e.port),
    path: text(e.path),
    rule: text(e.rule, 128),
    place: text(e.location, 128) ?? pipelockStage(e),
    status: int(e.status),
    routed: false,
    requestBytes: null,
    responseBytes: null,
    ...rateOf(e.rate),
  };
}

/** A rate-limit line's counts, when whole. */
function rateOf(v: unknown): { rate?: NonNullable<ParsedDecision["rate"]> } {
  if (v === null || typeof v !== "object") return {};
  const r = v as Record<string, unknown>;
  const key = text(r.key, 256);
  const bursts = int(r.bursts);
  const refusals = int(r.refusals);
  if (key === null || bursts === null || refusals === null) return {};
  return { rate: { key, bursts, refusals } };
}

/** A byte count as egress writes it; older egress lines have none. */
const byteCount = (v: unknown): number | null => {
  const n = int(v);
  return n !== null && n >= 0 ? n : null;
};

/**
 * One line of egress's request log, or null. Its own endpoints (health checks) are left out;
 * tunnels and plain forwards are left out too, since pipelock logs the same request with
 * its verdict: egress adds its refusals and the routed calls it put a token on.
 */
export function parseEgressLine(line: string, slug: string): ParsedDecision | null {
  const e = jsonObject(line);
  if (e === null || e.event !== "request" || typeof e.kind !== "string") return null;
  if (e.kind !== "refused" && e.kind !== "intercept") return null;
  const refused = e.kind === "refused";
  return {
    slug,
    source: "egress",
    at: text(e.time, 64) ?? "",
    kind: refused ? "refuse" : "allow",
    verdict: e.kind,
    method: text(e.method, 32) ?? "",
    host: text(e.host, 256),
    port: null,
    path: null,
    rule: refused ? (text(e.error, 128) ?? "refused") : e.routed === true ? "route" : null,
    place: refused ? "egress proxy" : e.routed === true ? "route" : "egress",
    status: int(e.status),
    routed: e.routed === true,
    requestBytes: byteCount(e.requestBytes),
    responseBytes: byteCount(e.responseBytes),
  };
}

/** One git-gate verdict line (on the gate's stderr), or null. */
export function parseGitGateLine(line: string, slug: string): ParsedDecision | null {
  const e = jsonObject(line);
  if (e === null || e.event !== "git-gate-verdict") return null;
  if (e.verdict !== "forwarded" && e.verdict !== "rejected") return null;
  const findings = int(e.findings);
  return {
    slug,
    source: "git-gate",
    at: text(e.ts, 64) ?? "",
    kind:
      e.verdict === "forwarded"
        ? "allow"
        : e.rule === "gitleaks" || e.rule === "push-scan"
          ? "dlp"
          : "refuse",
    verdict: e.verdict,
    method: "push",
    host: text(e.upstream, 128),
    port: null,
    path: null,
    rule: text(e.rule, 64),
    place:
      findings !== null && findings > 0
        ? `${findings} finding${findings === 1 ? "" : "s"}`
        : "push",
    status: null,
    routed: false,
    requestBytes: null,
    responseBytes: null,
  };
}
