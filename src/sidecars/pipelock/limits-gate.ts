// The bottle's two counters in front of everything that goes upstream: the budget of distinct
// names under each wildcard (name-budget.ts) and the request rate per host (rate-limit.ts).
// A CONNECT, a request (forwarded or inside a tunnel) and a WebSocket upgrade each pass here
// once they are admitted and before anything is looked up or sent, so a refused name never
// reaches a resolver. What the allowlist or the label bounds refuse is left to the handlers,
// which refuse it the same way as ever; this gate only adds refusals, never lets anything by.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { admit } from "./admission.js";
import { compileAllowlist } from "./allowlist.js";
import type { AuditEvent } from "./audit-log.js";
import { nameBudgetSpent, type Refusal, rateLimited } from "./messages.js";
import type { Policy } from "./policy.js";
import type { ProxyContext } from "./proxy-context.js";
import type { RateLimit } from "./rate-limit.js";
import { refuseOnSocket } from "./raw-response.js";
import { auditablePath, respond } from "./request-handler.js";
import { resolveRequest } from "./request-target.js";
import { clientOf, splitPathAndQuery, type Target } from "./target.js";

export const NAME_BUDGET_RULE = "wildcard-name-budget";
export const RATE_LIMIT_RULE = "rate-limit";

export interface LimitRefusal {
  refusal: Refusal;
  /** The audit line's fields for it. */
  audit: Pick<AuditEvent, "decision" | "rule" | "location" | "status" | "rate" | "names">;
  /** Extra response headers (Retry-After). */
  headers: Record<string, string>;
}

/** One of the two counters, for a target the policy admitted: undefined when it may go on. */
type LimitCheck = (
  ctx: Pick<ProxyContext, "limits">,
  policy: Policy,
  target: Pick<Target, "host" | "port">,
  /** The host as the refusal names it. */
  shownHost: string,
) => LimitRefusal | undefined;

/** The budget of distinct names under the wildcard rule that admitted the target. */
export const checkNameBudget: LimitCheck = (ctx, policy, target, shownHost) => {
  const rule = policy.allowlist.match(target.host, target.port);
  if (rule === undefined || rule.kind !== "wildcard") return undefined;
  const budget = policy.config.wildcardNames;
  const admitted = ctx.limits.names.admit(rule.pattern, target.host.host, budget);
  if (admitted.ok) return undefined;
  const refusal = nameBudgetSpent(shownHost, {
    pattern: rule.pattern,
    budget,
    supervise: policy.config.supervise.enabled,
  });
  return {
    refusal,
    audit: {
      decision: "denied",
      rule: NAME_BUDGET_RULE,
      location: "host",
      status: refusal.status,
      names: { pattern: rule.pattern, used: admitted.used, budget },
    },
    headers: {},
  };
};

/** The bucket a host's requests take from, and its limit: per host, one per wildcard rule. */
export function rateLimitOf(
  policy: Policy,
  target: Pick<Target, "host" | "port">,
): { key: string; limit: RateLimit } {
  const config = policy.config.rateLimit;
  const rule = policy.allowlist.match(target.host, target.port);
  const key = rule?.kind === "wildcard" ? rule.pattern : target.host.host;
  const entries = hostLimits(policy);
  const exact = entries.find((e) => e.exact && e.list.match(target.host, target.port));
  const entry = exact ?? entries.find((e) => !e.exact && e.list.match(target.host, target.port));
  const limit = entry?.limit ?? { perSecond: config.perSecond, burst: config.burst };
  return { key, limit };
}

const compiled = new WeakMap<Policy, HostLimit[]>();
interface HostLimit {
  exact: boolean;
  list: ReturnType<typeof compileAllowlist>;
  limit: RateLimit;
}

function hostLimits(policy: Policy): HostLimit[] {
  let entries = compiled.get(policy);
  if (entries === undefined) {
    entries = policy.config.rateLimit.hosts.map((h) => {
      const list = compileAllowlist([h.pattern]);
      return {
        exact: list.rules[0]?.kind !== "wildcard",
        list,
        limit: { perSecond: h.perSecond, burst: h.burst },
      };
    });
    compiled.set(policy, entries);
  }
  return entries;
}

/** Takes a token from the host's bucket for a request about to go upstream. */
export const takeRequestToken: LimitCheck = (ctx, policy, target, shownHost) => {
  const { key, limit } = rateLimitOf(policy, target);
  const decision = ctx.limits.rates.take(key, limit);
  if (decision.ok) return undefined;
  const refusal = rateLimited(shownHost, {
    key,
    perSecond: limit.perSecond,
    burst: limit.burst,
    retryAfterSeconds: decision.retryAfterSeconds,
  });
  return {
    refusal,
    audit: {
      decision: "denied",
      rule: RATE_LIMIT_RULE,
      location: null,
      status: refusal.status,
      rate: { key, bursts: decision.bursts, refusals: decision.refusals },
    },
    headers: { "Retry-After": String(decision.retryAfterSeconds) },
  };
};

/** Both counters for a request or an upgrade, once its target is admitted. */
function limitTarget(
  ctx: ProxyContext,
  req: IncomingMessage,
): { refused: LimitRefusal; at: Omit<AuditEvent, "decision" | "rule" | "location"> } | undefined {
  const policy = ctx.policy();
  const tunnel = ctx.tunnels.get(req.socket);
  const resolved = resolveRequest(req, tunnel, policy);
  if (resolved.kind !== "target") return undefined;
  const { target, pathAndQuery } = resolved;
  const client = tunnel?.client ?? clientOf(req);
  const method = req.method ?? "GET";
  const admission = admit(policy, { target, client, method, auditPath: () => null });
  // Refused by the policy: the handler says so, in its own words and audit line.
  if (!admission.admitted) return undefined;
  const refused =
    checkNameBudget(ctx, policy, target, admission.shownHost) ??
    takeRequestToken(ctx, policy, target, admission.shownHost);
  if (refused === undefined) return undefined;
  const path = auditablePath(policy, splitPathAndQuery(pathAndQuery).path);
  return {
    refused,
    at: { client, method, host: admission.shownHost, port: target.port, path },
  };
}

/** Answers a request over a limit (true), or leaves it to the handler (false). */
export function gateRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): boolean {
  const limited = limitTarget(ctx, req);
  if (limited === undefined) return false;
  ctx.audit.write({ ...limited.at, ...limited.refused.audit });
  for (const [name, value] of Object.entries(limited.refused.headers)) res.setHeader(name, value);
  respond(res, limited.refused.refusal, true);
  return true;
}

/** The same for a WebSocket upgrade, answered on its socket. */
export function gateUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Duplex): boolean {
  const limited = limitTarget(ctx, req);
  if (limited === undefined) return false;
  ctx.track(socket);
  socket.on("error", () => socket.destroy());
  ctx.audit.write({ ...limited.at, ...limited.refused.audit });
  refuseOnSocket(socket, limited.refused.refusal, limited.refused.headers);
  return true;
}
