// CONNECT: the allow decision is taken here, on the authority alone, before a byte of TLS. A
// host the allowlist alone refused gets a tunnel that answers every request with the refusal
// (refused-tunnel.ts: its leaf comes from a minter of its own, and it never goes upstream);
// every other refusal is a plain 403 on the CONNECT, and its host never gets a certificate.
// An accepted tunnel is intercepted: TLS with a leaf for the CONNECT host (or plain HTTP when
// the client speaks it), handed to the inner HTTP server, which checks every request inside
// against the tunnel and the policy in force.
import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { admit } from "./admission.js";
import { checkNameBudget } from "./limits-gate.js";
import { badRequest, upstreamFailed } from "./messages.js";
import type { ProxyContext } from "./proxy-context.js";
import { refuseOnSocket } from "./raw-response.js";
import { describe } from "./request-handler.js";
import { clientOf, parseAuthority, type Tunnel } from "./target.js";
import { answerTunnel } from "./tunnel-open.js";

export function handleConnect(
  ctx: ProxyContext,
  inner: Server,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
): void {
  ctx.track(socket);
  socket.on("error", () => socket.destroy());
  const client = clientOf(req);
  const authority = parseAuthority(req.url ?? "");
  const base = { client, method: "CONNECT" };
  if (authority === undefined) {
    ctx.audit.write({
      ...base,
      host: "",
      port: 0,
      path: null,
      decision: "denied",
      rule: "bad-request",
      location: null,
      status: 400,
    });
    refuseOnSocket(
      socket,
      badRequest(
        "CONNECT needs host:port: a plain host name or IP address and a port from 1 to 65535",
      ),
    );
    return;
  }
  const spellings = [{ where: "connect" as const, text: authority.hostText }];
  const target = { ...authority, spellings };
  const admission = admit(ctx.policy(), {
    target,
    client,
    method: "CONNECT",
    auditPath: () => null,
  });
  // A new name past its wildcard's budget: before a certificate is minted for it, and long
  // before anything would resolve it.
  const spent = admission.admitted
    ? checkNameBudget(ctx, ctx.policy(), authority, admission.shownHost)
    : undefined;
  if (spent !== undefined) {
    ctx.audit.write({ ...admission.auditEvent, ...spent.audit });
    refuseOnSocket(socket, spent.refusal);
    return;
  }
  ctx.audit.write(admission.auditEvent);
  if (!admission.admitted) {
    if (admission.answerInTunnel) {
      const { shownHost, refusal } = admission;
      ctx.refusedTunnels.open(socket, head, { target, client, shownHost, refusal });
    } else {
      refuseOnSocket(socket, admission.refusal);
    }
    return;
  }
  const at = { ...base, host: admission.shownHost, port: authority.port, path: null };
  const tunnel: Tunnel = {
    target: { host: authority.host, port: authority.port, scheme: "https", spellings },
    client,
  };
  openTunnel(ctx, inner, socket, head, tunnel).catch((error: unknown) => {
    const detail = describe(error);
    ctx.audit.write({ ...at, decision: "error", rule: "certificate", location: null, detail });
    refuseOnSocket(
      socket,
      upstreamFailed(admission.shownHost, `cannot mint a certificate: ${detail}`),
    );
  });
}

async function openTunnel(
  ctx: ProxyContext,
  inner: Server,
  socket: Socket,
  head: Buffer,
  tunnel: Tunnel,
): Promise<void> {
  // Minted before answering, so a failure can still be told as a 502.
  const context = await ctx.leaves.contextFor(tunnel.target.host.host);
  if (socket.destroyed) return;
  // Peek at the first byte: a TLS handshake, or plain HTTP sent through the tunnel.
  answerTunnel(socket, head, (isTls) => {
    if (isTls) {
      intercept(ctx, inner, socket, tunnel, context);
    } else {
      tunnel.target = { ...tunnel.target, scheme: "http" };
      ctx.tunnels.set(socket, tunnel);
      inner.emit("connection", socket);
      socket.resume();
    }
  });
}

function intercept(
  ctx: ProxyContext,
  inner: Server,
  socket: Socket,
  tunnel: Tunnel,
  context: tls.SecureContext,
): void {
  const secure = new tls.TLSSocket(socket, {
    isServer: true,
    secureContext: context,
    ALPNProtocols: ["http/1.1"],
    // Whatever name the client asks for, it gets the CONNECT host's certificate; a different
    // name is refused per request (with a readable 403) rather than by a failed handshake.
    SNICallback: (name, done) => {
      tunnel.sni = name;
      done(null, context);
    },
  });
  ctx.track(secure);

  let established = false;
  secure.once("secure", () => {
    established = true;
  });
  secure.on("error", (error) => {
    if (!established) {
      ctx.audit.write({
        client: tunnel.client,
        method: "CONNECT",
        host: tunnel.target.host.host,
        port: tunnel.target.port,
        path: null,
        decision: "error",
        rule: "tls-handshake",
        location: null,
        detail: describe(error),
      });
    }
    secure.destroy();
  });
  ctx.tunnels.set(secure, tunnel);
  inner.emit("connection", secure);
}
