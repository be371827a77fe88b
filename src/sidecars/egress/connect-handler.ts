// CONNECT from the agent. A route host on 443 is intercepted (a leaf from the egress CA, and
// the requests inside go to the interceptor, which adds the route's token); every other
// CONNECT is relayed through pipelock untouched, so pipelock's policy applies to it as the
// agent sent it. A route host's leaf is minted before the 200, so a failure is still an answer.
import type * as http from "node:http";
import type * as net from "node:net";
import type * as tls from "node:tls";
import { parseAuthority } from "./authority.js";
import { answerOnSocket, type EgressContext } from "./egress-context.js";
import type { RequestLogEntry } from "./request-log.js";
import { isRouteHost } from "./route-match.js";
import { errorText } from "./routes-config.js";
import { openTunnel } from "./upstream.js";

export async function handleConnect(
  ctx: EgressContext,
  req: http.IncomingMessage,
  socket: net.Socket,
  head: Buffer,
): Promise<void> {
  const authority = req.url ?? "";
  const parsed = parseAuthority(authority);
  if (parsed?.port === undefined) {
    logConnect(ctx, { kind: "refused", host: "", status: 400, error: "malformed CONNECT target" });
    answerOnSocket(ctx, socket, {
      status: 400,
      reason: "Bad Request",
      message: "egress expects CONNECT host:port",
    });
    return;
  }
  const { host, port } = parsed;
  if (port === 443 && isRouteHost(ctx.routes, host)) {
    let context: tls.SecureContext;
    try {
      context = await ctx.interceptor.prepare(host);
    } catch (error) {
      const message = `egress could not make a certificate for ${host}: ${errorText(error)}`;
      logConnect(ctx, { kind: "refused", host, status: 502, error: message });
      answerOnSocket(ctx, socket, { status: 502, reason: "Bad Gateway", message });
      return;
    }
    if (socket.destroyed) return;
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length > 0) socket.unshift(head);
    ctx.interceptor.accept(socket, { host, port }, context);
    return;
  }
  await relayTunnel(ctx, socket, { authority, host, head });
}

/** A CONNECT egress does not intercept: pipelock's answer and then the bytes, untouched. */
async function relayTunnel(
  ctx: EgressContext,
  socket: net.Socket,
  connect: { authority: string; host: string; head: Buffer },
): Promise<void> {
  const { host, head } = connect;
  let tunnel: Awaited<ReturnType<typeof openTunnel>>;
  try {
    tunnel = await openTunnel(ctx.upstream, connect.authority);
  } catch (error) {
    const message = errorText(error);
    logConnect(ctx, { kind: "tunnel", host, status: 502, error: message });
    answerOnSocket(ctx, socket, {
      status: 502,
      reason: "Bad Gateway",
      message: `egress could not open a tunnel through pipelock: ${message}`,
    });
    return;
  }
  const upstream = tunnel.socket;
  ctx.track(upstream);
  logConnect(ctx, { kind: "tunnel", host, status: tunnel.statusCode });
  // A reset from pipelock (it may close a tunnel with bytes in flight) must not throw away
  // the answer already queued for the agent: 'close' follows every 'error' and ends the
  // agent's side gracefully, so nothing is destroyed here.
  upstream.on("error", () => {});
  // Ending (not destroying) lets bytes still queued for the agent go out first.
  upstream.on("close", () => socket.end(() => socket.destroy()));
  socket.on("close", () => upstream.destroy());
  if (socket.destroyed) {
    upstream.destroy();
    return;
  }
  socket.write(Buffer.concat([tunnel.head, tunnel.rest]));
  const established = tunnel.statusCode >= 200 && tunnel.statusCode <= 299;
  if (established && head.length > 0) upstream.write(head);
  upstream.pipe(socket);
  // A refused CONNECT ends with pipelock's page; the agent's bytes have nowhere to go.
  if (established) socket.pipe(upstream);
  upstream.resume();
}

/** One log line for a CONNECT egress answered or relayed: never routed, no path. */
function logConnect(
  ctx: EgressContext,
  entry: Pick<RequestLogEntry, "kind" | "host" | "status" | "error">,
): void {
  const { kind, host, status, error } = entry;
  ctx.log({
    kind,
    routed: false,
    host,
    method: "CONNECT",
    path: null,
    status,
    ...(error === undefined ? {} : { error }),
  });
}
