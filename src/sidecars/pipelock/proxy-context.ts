// What every handler of the proxy shares: the policy in force (read per request, so a reload
// applies to the next request), the audit log, the outbound leg and the leaf certificates.
import type { Duplex } from "node:stream";
import type { AuditLog } from "./audit-log.js";
import type { LeafContexts } from "./leaf-contexts.js";
import type { NameBudget } from "./name-budget.js";
import type { Policy } from "./policy.js";
import type { RateLimiter } from "./rate-limit.js";
import type { RefusedTunnels } from "./refused-tunnel.js";
import type { Tunnel } from "./target.js";
import type { Upstream } from "./upstream.js";

export interface ProxyContext {
  policy(): Policy;
  audit: AuditLog;
  upstream: Upstream;
  leaves: LeafContexts;
  /** Where CONNECTs the allowlist refused are answered, over TLS, with the refusal. */
  refusedTunnels: RefusedTunnels;
  /** The tunnel each intercepted (or plain) tunnel socket belongs to. */
  tunnels: WeakMap<Duplex, Tunnel>;
  /**
   * The bottle's counters, kept for the life of the process (a reload keeps them): names used
   * under each wildcard, and each host's request rate.
   */
  limits: { names: NameBudget; rates: RateLimiter };
  /** Every socket pipelock opened or accepted, so close() can end them. */
  track(socket: Duplex): void;
}
