// A CONNECT the allowlist refused, answered so that the agent reads why: "200", TLS with a leaf
// the bottle CA mints for the host it asked for, then the same 403 and its explanation for
// every request inside (any method, kept alive, WebSocket upgrades too), because clients show
// a response's text but only "CONNECT tunnel failed" for a refused CONNECT. This room knows no
// upstream: nothing here opens a connection out or resolves a name. A client that does not
// speak TLS gets the refusal in plain HTTP and the socket closes; a TLS server name other than
// the host ends the handshake. Admission decided beforehand which refusals may come here.
import type * as http from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { type Admission, admit, shownName } from "./admission.js";
import { normalizeHost } from "./allowlist.js";
import type { LeafContexts } from "./leaf-contexts.js";
import { type Refusal, retryElsewhere } from "./messages.js";
import type { ProxyContext } from "./proxy-context.js";
import { refuseOnSocket } from "./raw-response.js";
import { auditablePath, describe, respond } from "./request-handler.js";
import { splitPathAndQuery, type Target } from "./target.js";
import { answerTunnel } from "./tunnel-open.js";

export interface RefusedConnect {
  target: Pick<Target, "host" | "port" | "spellings">;
  /** The client's address:port. */
  client: string;
  /** As admission showed it: the host's name, never a finding. */
  shownHost: string;
  refusal: Refusal;
}

export interface RefusedTunnels {
  /** Answers "200" on `socket` and the refusal inside; `head` is what followed the CONNECT. */
  open(socket: Socket, head: Buffer, refused: RefusedConnect): void;
}

/**
 * Serves refused tunnels on `server`, an HTTP server that never listens and has no other
 * handler; `leaves` mints their certificates (kept apart from the intercepting path's).
 */
export function serveRefusedTunnels(
  ctx: Pick<ProxyContext, "policy" | "audit" | "track">,
  server: http.Server,
  leaves: LeafContexts,
): RefusedTunnels {
  const tunnels = new WeakMap<Duplex, RefusedConnect>();

  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.on("error", () => res.destroy());
    const refused = tunnels.get(req.socket);
    if (refused === undefined) {
      res.destroy();
      return;
    }
    const answer = answerFor(ctx, refused, req);
    // A body is left unread: close after the answer rather than read it to keep the
    // connection; and a tunnel whose host is allowed now ends so the client reconnects.
    const hasBody =
      req.headers["transfer-encoding"] !== undefined ||
      (req.headers["content-length"] ?? "0") !== "0";
    respond(res, answer.refusal, hasBody || answer.admission.admitted);
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex) => {
    ctx.track(socket);
    socket.on("error", () => socket.destroy());
    const refused = tunnels.get(req.socket);
    if (refused === undefined) {
      socket.destroy();
      return;
    }
    refuseOnSocket(socket, answerFor(ctx, refused, req).refusal);
  });

  const intercept = (socket: Socket, refused: RefusedConnect, context: tls.SecureContext) => {
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      ALPNProtocols: ["http/1.1"],
      SNICallback: sniCheck(ctx, refused, context),
    });
    ctx.track(secure);
    secure.on("error", () => secure.destroy());
    tunnels.set(secure, refused);
    server.emit("connection", secure);
  };

  return {
    open(socket, head, refused) {
      leaves.contextFor(refused.target.host.host).then(
        (context) => {
          if (socket.destroyed) return;
          answerTunnel(socket, head, (isTls) => {
            if (isTls) {
              intercept(socket, refused, context);
              return;
            }
            // Not TLS: whatever it is, it gets the refusal as HTTP, and the socket closes.
            socket.resume();
            refuseOnSocket(socket, refused.refusal);
            socket.setTimeout(2000, () => socket.destroy());
          });
        },
        (error: unknown) => {
          // No certificate: the refusal is still told, on the CONNECT itself.
          process.stderr.write(`pipelock: cannot mint a refusal certificate: ${describe(error)}\n`);
          refuseOnSocket(socket, refused.refusal);
        },
      );
    },
  };
}

/**
 * The answer to one request inside: the refusal the policy in force gives now. A host
 * approved since the tunnel opened is told to retry on a new connection, where it is
 * admitted; this tunnel stays refused.
 */
function answerFor(
  ctx: Pick<ProxyContext, "policy" | "audit">,
  refused: RefusedConnect,
  req: http.IncomingMessage,
): { admission: Admission; refusal: Refusal } {
  const policy = ctx.policy();
  const admission = admit(policy, {
    target: refused.target,
    client: refused.client,
    method: req.method ?? "GET",
    auditPath: () => auditablePath(policy, splitPathAndQuery(req.url ?? "").path),
  });
  if (!admission.admitted) {
    ctx.audit.write(admission.auditEvent);
    return { admission, refusal: admission.refusal };
  }
  const refusal = retryElsewhere(admission.shownHost);
  ctx.audit.write({
    ...admission.auditEvent,
    path: auditablePath(policy, splitPathAndQuery(req.url ?? "").path),
    decision: "denied",
    rule: "refused-tunnel",
    location: null,
    status: refusal.status,
  });
  return { admission, refusal };
}

/**
 * Another name than the CONNECT host is a tunnel to somewhere else: refused outright, after
 * the same admission as any name (so that a secret in it is never logged).
 */
function sniCheck(
  ctx: Pick<ProxyContext, "policy" | "audit">,
  refused: RefusedConnect,
  context: tls.SecureContext,
): (name: string, done: (error: Error | null, context?: tls.SecureContext) => void) => void {
  return (name, done) => {
    const sni = normalizeHost(name);
    if (sni !== undefined && sni.host === refused.target.host.host) {
      done(null, context);
      return;
    }
    const policy = ctx.policy();
    const shown =
      sni === undefined
        ? shownName(policy, name)
        : admit(policy, {
            target: {
              host: sni,
              port: refused.target.port,
              spellings: [{ where: "sni", text: name }],
            },
            client: refused.client,
            method: "CONNECT",
            auditPath: () => null,
          }).shownHost;
    ctx.audit.write({
      client: refused.client,
      method: "CONNECT",
      host: refused.shownHost,
      port: refused.target.port,
      path: null,
      decision: "denied",
      rule: sni === undefined ? "bad-sni" : "sni-mismatch",
      location: "sni",
      detail: `TLS server name "${shown}"`,
    });
    done(new Error("TLS server name differs from the CONNECT host"));
  };
}
