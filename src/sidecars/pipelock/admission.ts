// Decides whether a target may be reached at all, before any body is read or any certificate
// minted: the allowlist, explicit listing of addresses, and secrets smuggled in a host name
// (DNS labels are an exfiltration channel of their own). Pure: no I/O.
import type { DlpFinding } from "../../shared/dlp/index.js";
import type { AuditDecision } from "./audit-log.js";
import { hostNotAllowed, type Refusal, secretFound } from "./messages.js";
import type { Policy } from "./policy.js";
import { formatHostPort, type Target } from "./target.js";

export const REDACTED = "[redacted]";

export type HostCheck =
  | {
      ok: false;
      decision: AuditDecision;
      rule: string;
      location: string | null;
      refusal: Refusal;
      /** The host as it may be logged. */
      shownHost: string;
    }
  | { ok: true; shownHost: string; hostFindings: DlpFinding[] };

export function checkTarget(policy: Policy, target: Pick<Target, "host" | "port">): HostCheck {
  const verdict = policy.scanner.scan(
    { host: target.host.host },
    { allowedSecrets: policy.secretsAllowedTo(target.host, target.port) },
  );
  const hostFindings = verdict.status === "findings" ? verdict.findings : [];
  const shownHost = hostFindings.length > 0 ? REDACTED : target.host.host;
  const supervise = policy.config.supervise.enabled;
  const rule = policy.allowlist.match(target.host, target.port);
  if (rule === undefined) {
    const ip = target.host.kind === "ip";
    return {
      ok: false,
      decision: "denied",
      rule: ip ? "ip-literal" : "not-allowlisted",
      location: null,
      refusal: hostNotAllowed(shownHost, target.port, { ip, supervise }),
      shownHost,
    };
  }
  const first = hostFindings[0];
  if (first !== undefined && policy.config.dlp.action === "block") {
    return {
      ok: false,
      decision: "dlp_block",
      rule: first.ruleId,
      location: first.location,
      refusal: secretFound(REDACTED, hostFindings),
      shownHost,
    };
  }
  return { ok: true, shownHost, hostFindings };
}

/** "[redacted]:443" or "api.example.test:443", for messages about a checked target. */
export function shownTarget(check: HostCheck, target: Pick<Target, "host" | "port">): string {
  return check.shownHost === REDACTED ? `${REDACTED}:${target.port}` : formatHostPort(target);
}
