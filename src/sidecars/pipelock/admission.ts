// Decides whether a target may be reached at all, before any body is read or any certificate
// minted: the allowlist, explicit listing of addresses, and what a host name can carry out
// (DNS labels are an exfiltration channel of their own): a known secret in any form a name
// can hold, and, under a wildcard, labels too long or too random to be a name. `admit` is the
// one decision CONNECTs, plain requests and WebSocket upgrades all take, with the audit line
// it writes; the same checks apply to the names a DNS-over-HTTPS query asks for. Pure: no I/O.
import { isIP } from "node:net";
import { type DlpFinding, KNOWN_SECRET_RULE_ID } from "../../shared/dlp/index.js";
import type { AuditDecision, AuditEvent } from "./audit-log.js";
import { hostNotAllowed, nameTooTelling, type Refusal, secretFound } from "./messages.js";
import type { Policy } from "./policy.js";
import type { NameSpelling, Target } from "./target.js";
import { type LabelProblem, labelProblem } from "./wildcard-labels.js";

export const REDACTED = "[redacted]";

type HostCheck =
  | {
      ok: false;
      decision: AuditDecision;
      rule: string;
      location: string | null;
      refusal: Refusal;
      /** The host as it may be logged. */
      shownHost: string;
      /**
       * A CONNECT refused here may be answered inside the tunnel, over TLS with a leaf minted
       * for the host, so that clients show the refusal's text. Only for what the allowlist
       * alone refused, and only for a name that carries nothing (a leaf, its cache and the
       * log would hold it) and is not an address spelled as a name ("127.1"), which no
       * client checks a certificate against.
       */
      answerInTunnel: boolean;
    }
  | { ok: true; shownHost: string; hostFindings: DlpFinding[] };

/** Who asks for a target, and how the audit line names the request. */
export interface AdmissionRequest {
  target: Pick<Target, "host" | "port" | "spellings">;
  /** The client's address:port. */
  client: string;
  method: string;
  /**
   * The path as it may be logged (null for CONNECT). Called only for a refusal, so that an
   * admitted request pays for no scan of its path here.
   */
  auditPath: () => string | null;
}

export type Admission =
  | {
      admitted: true;
      /** The host as it may be logged. */
      shownHost: string;
      /** Findings in the host's spellings, under `dlp.action: warn`. */
      hostFindings: DlpFinding[];
      /** The line for a decision taken here alone (a CONNECT); requests log after forwarding. */
      auditEvent: AuditEvent;
    }
  | {
      admitted: false;
      status: number;
      refusal: Refusal;
      shownHost: string;
      /** See HostCheck: whether a CONNECT may be told the refusal inside its tunnel. */
      answerInTunnel: boolean;
      auditEvent: AuditEvent;
    };

/** The allow decision for one target, as CONNECT, plain requests and upgrades all take it. */
export function admit(policy: Policy, request: AdmissionRequest): Admission {
  const check = checkTarget(policy, request.target);
  const at = {
    client: request.client,
    method: request.method,
    host: check.shownHost,
    port: request.target.port,
  };
  if (!check.ok) {
    return {
      admitted: false,
      status: check.refusal.status,
      refusal: check.refusal,
      shownHost: check.shownHost,
      answerInTunnel: check.answerInTunnel,
      auditEvent: {
        ...at,
        path: request.auditPath(),
        decision: check.decision,
        rule: check.rule,
        location: check.location,
        status: check.refusal.status,
      },
    };
  }
  const first = check.hostFindings[0];
  return {
    admitted: true,
    shownHost: check.shownHost,
    hostFindings: check.hostFindings,
    auditEvent: {
      ...at,
      path: null,
      decision: first === undefined ? "allowed" : "dlp_warn",
      rule: first?.ruleId ?? null,
      location: first?.location ?? null,
      status: 200,
    },
  };
}

function checkTarget(
  policy: Policy,
  target: Pick<Target, "host" | "port" | "spellings">,
): HostCheck {
  const hostFindings = nameFindings(policy, [
    { where: "host", text: target.host.host },
    ...(target.spellings ?? []),
  ]);
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
      answerInTunnel: hostFindings.length === 0 && (!ip || isIP(target.host.host) !== 0),
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
      answerInTunnel: false,
    };
  }
  if (rule.kind === "wildcard") {
    // Only what the wildcard stands for: the bottle chose the domain, the agent the rest.
    const chosen = target.host.host.slice(0, -(rule.host.length + 1));
    const problem = labelProblem(chosen.split("."), policy.config.wildcardLabels);
    if (problem !== undefined) {
      return {
        ok: false,
        decision: "denied",
        rule: labelRule(problem),
        location: "host",
        refusal: nameTooTelling(shownHost, describeProblem(problem), {
          pattern: rule.pattern,
          supervise,
        }),
        shownHost,
        answerInTunnel: false,
      };
    }
  }
  return { ok: true, shownHost, hostFindings };
}

export type NamesCheck =
  | { ok: false; decision: AuditDecision; rule: string; location: string; refusal: Refusal }
  | { ok: true; findings: DlpFinding[] };

/**
 * The names a DNS-over-HTTPS query asks for (labels as sent), checked like hosts under a
 * wildcard: any of them reaches its domain's name server, whatever the allowlist says.
 * `shownHost` is the (checked) host the query is sent to.
 */
export function checkDnsNames(
  policy: Policy,
  names: readonly (readonly string[])[],
  shownHost: string,
): NamesCheck {
  const location = "dns-question";
  const supervise = policy.config.supervise.enabled;
  const findings = nameFindings(
    policy,
    names.map((labels) => ({ where: location, text: labels.join(".") })),
  );
  if (findings.length > 0 && policy.config.dlp.action === "block") {
    const first = findings[0] as DlpFinding;
    return {
      ok: false,
      decision: "dlp_block",
      rule: first.ruleId,
      location,
      refusal: secretFound(shownHost, findings),
    };
  }
  for (const labels of names) {
    const name = labels.join(".");
    const shown = findings.length > 0 ? REDACTED : name.replace(/[^\x20-\x7e]/g, "?");
    if (!labels.every((l) => /^[A-Za-z0-9_-]+$/.test(l))) {
      return {
        ok: false,
        decision: "denied",
        rule: "dns-label-characters",
        location,
        refusal: nameTooTelling(shown.slice(0, 255), "holds characters no host name has", {
          pattern: null,
          supervise,
        }),
      };
    }
    const problem = labelProblem(
      labels.map((l) => l.toLowerCase()),
      policy.config.wildcardLabels,
    );
    if (problem !== undefined) {
      return {
        ok: false,
        decision: "denied",
        rule: labelRule(problem).replace("wildcard", "dns"),
        location,
        refusal: nameTooTelling(shown, describeProblem(problem), { pattern: null, supervise }),
      };
    }
  }
  return { ok: true, findings };
}

/** A name's spelling, shown only when it carries nothing secret (it is attacker-chosen text). */
export function shownName(policy: Policy, text: string): string {
  return text.length <= 255 && nameFindings(policy, [{ where: "host", text }]).length === 0
    ? text.replace(/[^\x20-\x7e]/g, "?")
    : REDACTED;
}

interface NamedText {
  where: NameSpelling["where"] | "host" | "dns-question";
  text: string;
}

/**
 * Secrets in names: the general engine on each spelling as written (it is case-sensitive,
 * and a DNS label or a CONNECT target keeps case), then every host form of the known secrets.
 * A secret's grant to a host does not cover the host's name: no token belongs in one.
 */
function nameFindings(policy: Policy, names: readonly NamedText[]): DlpFinding[] {
  const findings: DlpFinding[] = [];
  const seen = new Set<string>();
  const add = (finding: DlpFinding) => {
    const key = `${finding.ruleId}\0${finding.location}\0${finding.secretName ?? ""}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push(finding);
  };
  for (const { where, text } of names) {
    const verdict = policy.scanner.scan({ host: text });
    if (verdict.status === "findings") {
      for (const f of verdict.findings) add({ ...f, location: where });
    } else if (verdict.status === "unscannable") {
      // Cannot happen for a name (nothing to decode); if it ever does, it is not clean.
      add({ ruleId: "unscannable", description: verdict.detail, location: where, preview: "" });
    }
    for (const match of policy.hostSecrets.find(text)) {
      add({
        ruleId: KNOWN_SECRET_RULE_ID,
        description: `the value of secret ${match.secretName} (${match.encoding}, as a host name holds it)`,
        location: where,
        preview: `…(${match.encoding})`,
        secretName: match.secretName,
      });
    }
  }
  return findings;
}

function labelRule(problem: LabelProblem): string {
  return problem.kind === "too-long" ? "wildcard-label-length" : "wildcard-label-random";
}

function describeProblem(problem: LabelProblem): string {
  return problem.kind === "too-long"
    ? `has a label of ${problem.length} characters, longer than this bottle's bound of ${problem.limit}`
    : `reads like encoded data rather than a name (${problem.reason}; names of ${problem.limit} letters and digits or more are judged)`;
}
