// What every handler of egress's agent-facing proxy shares: the routes and the token forms
// scrubbed from answers, the two ways out through pipelock (raw tunnels and forwarded
// requests), the interceptor for route hosts, the request log and the redactor that guards
// every message egress writes itself.
import type * as net from "node:net";
import type { Interceptor } from "./intercept.js";
import { rawErrorResponse } from "./relay.js";
import type { RequestLogEntry } from "./request-log.js";
import type { ResponseGuard } from "./response-guard.js";
import type { ResolvedRoute } from "./routes-config.js";
import type { TokenForm } from "./token-scrub.js";
import type { ForwardAgent, UpstreamOptions } from "./upstream.js";

export interface EgressContext {
  routes: readonly ResolvedRoute[];
  /** Route token forms taken out of every answer relayed to the agent. */
  scrub: readonly TokenForm[];
  /** Reads what the scrub left of a token in each answer; a finding withholds it. */
  guard: ResponseGuard;
  upstream: UpstreamOptions;
  /** Keep-alive connections to pipelock for plain http:// requests. */
  forwardAgent: ForwardAgent;
  interceptor: Interceptor;
  /** Normalized hostnames that mean egress itself in absolute-form requests. */
  selfNames: ReadonlySet<string>;
  log(entry: RequestLogEntry): void;
  redact(text: string): string;
  /** Every socket egress opened or accepted, so close() can end them. */
  track(socket: net.Socket): void;
}

export interface RawAnswer {
  status: number;
  reason: string;
  message: string;
}

/** egress's own error page on a socket that has no HTTP exchange, then the socket ends. */
export function answerOnSocket(ctx: EgressContext, socket: net.Socket, answer: RawAnswer): void {
  if (socket.writable) {
    socket.end(rawErrorResponse(answer.status, answer.reason, ctx.redact(answer.message)));
  } else {
    socket.destroy();
  }
}
