// WebSocket upgrades, forwarded (ws://) or inside a tunnel (wss://): admitted like any request
// (allowlisted target, names agree, no secret in the handshake), then relayed. Server frames
// pass untouched; client frames are unmasked, messages reassembled and scanned before a byte of
// them is forwarded, each alone and, across the seam, with the tail of what the client sent
// before it (a secret cut in two messages is whole there). Only the client's side is windowed:
// what the server sends is what it already has. Extensions are not offered upstream, so no
// frame is compressed.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { DlpFinding, DlpScanner, DlpVerdict } from "../../shared/dlp/index.js";
import { endToEndHeaders, headerPairs } from "../../shared/hop-headers.js";
import {
  closeFrame,
  type WsFrame,
  WsFrameReader,
  WsProtocolError,
} from "../../shared/websocket-frames.js";
import { admit, REDACTED } from "./admission.js";
import type { AuditDecision, AuditEvent } from "./audit-log.js";
import { badRequest, type Refusal, secretFound, upstreamFailed } from "./messages.js";
import type { Policy } from "./policy.js";
import type { ProxyContext } from "./proxy-context.js";
import { refuseOnSocket } from "./raw-response.js";
import { READ_ONLY_RULE, readOnlyRefusal } from "./read-only.js";
import { auditablePath, describe } from "./request-handler.js";
import { resolveRequest } from "./request-target.js";
import { wholeOverRequests } from "./sent-window.js";
import { clientOf, splitPathAndQuery, type Target, type Tunnel } from "./target.js";

export function handleUpgrade(
  ctx: ProxyContext,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  ctx.track(socket);
  socket.on("error", () => socket.destroy());
  const policy = ctx.policy();
  const tunnel = ctx.tunnels.get(req.socket);
  const at: UpgradeAudit = {
    client: tunnel?.client ?? clientOf(req),
    method: req.method ?? "GET",
    host: "",
    port: 0,
    path: auditablePath(policy, splitPathAndQuery(req.url ?? "").path),
  };
  const deny: Deny = (decision, rule, location, refusal = badRequest(rule)) => {
    ctx.audit.write({ ...at, decision, rule, location, status: refusal.status });
    refuseOnSocket(socket, refusal);
  };
  const admitted = admitUpgrade(ctx, req, socket, { policy, tunnel, at, deny });
  if (admitted === null) return;
  connectUpstream(ctx, { req, socket, head, at, ...admitted });
}

type UpgradeAudit = Omit<AuditEvent, "decision" | "rule" | "location">;
type Deny = (
  decision: AuditDecision,
  rule: string,
  location: string | null,
  refusal?: Refusal,
) => void;

/** An upgrade admitted: its target, and the finding it carries when DLP only warns. */
interface AdmittedUpgrade {
  target: Target;
  pathAndQuery: string;
  shownHost: string;
  first: DlpFinding | undefined;
}

/**
 * Admits an upgrade like any request (allowlisted target, names agree, not read-only, no
 * secret in the handshake); null once refused on the socket.
 */
function admitUpgrade(
  ctx: ProxyContext,
  req: IncomingMessage,
  socket: Duplex,
  {
    policy,
    tunnel,
    at,
    deny,
  }: { policy: Policy; tunnel: Tunnel | undefined; at: UpgradeAudit; deny: Deny },
): AdmittedUpgrade | null {
  if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
    deny("denied", "bad-request", null, badRequest("only WebSocket upgrades are relayed"));
    return null;
  }
  const resolved = resolveRequest(req, tunnel, policy);
  if (resolved.kind !== "target") {
    const refusal =
      resolved.kind === "refused" ? resolved.refusal : badRequest("not a WebSocket endpoint");
    deny("denied", resolved.kind === "refused" ? resolved.rule : "bad-request", null, refusal);
    return null;
  }
  const { target, pathAndQuery } = resolved;
  const auditPath = at.path;
  const check = admit(policy, {
    target,
    client: at.client,
    method: at.method,
    auditPath: () => auditPath,
  });
  at.host = check.shownHost;
  at.port = target.port;
  if (!check.admitted) {
    ctx.audit.write(check.auditEvent);
    refuseOnSocket(socket, check.refusal);
    return null;
  }
  // An upgrade is a GET, but what follows it writes: a read-only host never gets one.
  const readOnly = readOnlyRefusal(policy, target, "upgrade", check.shownHost);
  if (readOnly !== undefined) {
    deny("denied", READ_ONLY_RULE, null, readOnly);
    return null;
  }
  const { path, query } = splitPathAndQuery(pathAndQuery);
  const verdict = policy.scanner.scan(
    { path, ...(query === null ? {} : { query }), headers: headerPairs(req.rawHeaders) },
    { allowedSecrets: policy.secretsAllowedTo(target.host, target.port) },
  );
  const findings = [
    ...check.hostFindings,
    ...(verdict.status === "findings" ? verdict.findings : []),
  ];
  const block = policy.config.dlp.action === "block";
  if (findings.length === 0 || !block) {
    const size = pathAndQuery.length;
    const whole = wholeOverRequests(policy.sentWindow, verdict.pieces, size, block);
    if (whole.length > 0) at.path = REDACTED;
    findings.push(...whole);
  }
  const first = findings[0];
  if (first !== undefined && policy.config.dlp.action === "block") {
    deny("dlp_block", first.ruleId, first.location, secretFound(check.shownHost, findings));
    return null;
  }
  return { target, pathAndQuery, shownHost: check.shownHost, first };
}

/** Asks the upstream for the upgrade; relays frames once it agrees, its answer if it does not. */
function connectUpstream(
  ctx: ProxyContext,
  u: AdmittedUpgrade & { req: IncomingMessage; socket: Duplex; head: Buffer; at: UpgradeAudit },
): void {
  const { req, socket, head, at, target, pathAndQuery, first } = u;
  const headers = [
    ...endToEndHeaders(req.rawHeaders, ["sec-websocket-extensions"]),
    "Connection",
    "Upgrade",
    "Upgrade",
    "websocket",
  ];
  const upstream = ctx.upstream.request(target, { method: "GET", pathAndQuery, headers }, true);
  upstream.on("socket", (s) => ctx.track(s));
  // A client that leaves before the upstream answers takes the upstream attempt with it.
  const abandon = () => upstream.destroy();
  socket.once("close", abandon);
  upstream.on("upgrade", (res, upSocket, upHead) => {
    ctx.track(upSocket);
    socket.off("close", abandon);
    if (socket.destroyed) {
      upSocket.destroy();
      return;
    }
    upSocket.setTimeout(0);
    ctx.audit.write({
      ...at,
      decision: first === undefined ? "allowed" : "dlp_warn",
      rule: first?.ruleId ?? null,
      location: first?.location ?? null,
      status: 101,
    });
    const lines = headerPairs(res.rawHeaders).map(([n, v]) => `${n}: ${v}\r\n`);
    socket.write(
      `HTTP/1.1 101 ${res.statusMessage || "Switching Protocols"}\r\n${lines.join("")}\r\n`,
    );
    if (upHead.length > 0) socket.write(upHead);
    relayFrames(ctx, { client: socket, upstream: upSocket, head, target, at });
  });
  upstream.on("response", (res) => {
    // The server declined the upgrade: pass its answer on and end.
    const lines = headerPairs(endToEndHeaders(res.rawHeaders)).map(([n, v]) => `${n}: ${v}\r\n`);
    socket.write(
      `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ""}\r\n${lines.join("")}Connection: close\r\n\r\n`,
    );
    res.pipe(socket);
    ctx.audit.write({
      ...at,
      decision: "allowed",
      rule: null,
      location: null,
      status: res.statusCode ?? 0,
    });
  });
  upstream.on("error", (error) => {
    ctx.audit.write({
      ...at,
      decision: "error",
      rule: "upstream-failed",
      location: null,
      status: 502,
      detail: describe(error),
    });
    refuseOnSocket(socket, upstreamFailed(u.shownHost, describe(error)));
  });
  upstream.end();
}

interface Relay {
  client: Duplex;
  upstream: Duplex;
  head: Buffer;
  target: Target;
  at: Omit<AuditEvent, "decision" | "rule" | "location">;
}

function relayFrames(ctx: ProxyContext, relay: Relay): void {
  const { client, upstream } = relay;
  upstream.on("error", () => client.destroy());
  upstream.pipe(client);
  upstream.on("end", () => client.end());
  client.on("end", () => upstream.end());
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
  const frames = new ClientFrames(ctx, relay);
  client.on("data", (chunk: Buffer) => frames.push(chunk));
  if (relay.head.length > 0) frames.push(relay.head);
}

/**
 * The client's side of one relayed WebSocket: frames read, messages reassembled, and each
 * scanned before a byte of it goes upstream. Once it shuts, nothing more is read.
 */
class ClientFrames {
  private readonly limit: number;
  private readonly reader: WsFrameReader;
  private message: WsFrame[] = [];
  private messageSize = 0;
  private closed = false;
  /** The last bytes of every payload the client sent (data and control), in order. */
  private tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly ctx: ProxyContext,
    private readonly relay: Relay,
  ) {
    this.limit = ctx.policy().config.maxBodyBytes;
    this.reader = new WsFrameReader(this.limit);
  }

  push(chunk: Buffer): void {
    if (this.closed) return;
    let frames: WsFrame[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      const code = error instanceof WsProtocolError ? error.closeCode : 1002;
      this.deny("websocket-protocol", { detail: describe(error) });
      this.shut(code, "pipelock: frame refused");
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      if (!frame.masked || frame.rsv !== 0) {
        this.deny("websocket-protocol", { detail: "unmasked or compressed client frame" });
        this.shut(1002, "pipelock: client frames must be masked and uncompressed");
        return;
      }
      if (frame.opcode >= 8) {
        if (this.scan(frame.payload)) this.send([frame]);
        continue;
      }
      this.message.push(frame);
      this.messageSize += frame.payload.length;
      if (this.messageSize > this.limit) {
        this.deny("body-too-large", { status: 1009 });
        this.shut(1009, "pipelock: message too big to scan");
        return;
      }
      if (!frame.fin) continue;
      const message = this.message;
      const payload =
        message.length === 1 ? frame.payload : Buffer.concat(message.map((f) => f.payload));
      this.message = [];
      this.messageSize = 0;
      if (this.scan(payload)) this.send(message);
    }
  }

  /** True when the payload may pass. */
  private scan(payload: Buffer): boolean {
    const { ctx, relay } = this;
    const policy = ctx.policy();
    const allowedSecrets = policy.secretsAllowedTo(relay.target.host, relay.target.port);
    const scanned = scanMessage(policy.scanner, allowedSecrets, this.tail, payload);
    this.tail = scanned.tail;
    let verdict = scanned.verdict;
    const block = policy.config.dlp.action === "block";
    if (verdict.status === "clean") {
      // Pieces of a known secret sent before, over any connection or request, made whole here.
      const whole = wholeOverRequests(policy.sentWindow, scanned.pieces, payload.length, block);
      if (whole.length === 0) return true;
      verdict = { status: "findings", findings: whole };
    }
    if (verdict.status === "unscannable") {
      this.deny("unscannable", { detail: verdict.detail });
      this.shut(1009, "pipelock: message cannot be scanned");
      return false;
    }
    const first = verdict.findings[0];
    ctx.audit.write({
      ...relay.at,
      decision: block ? "dlp_block" : "dlp_warn",
      rule: first?.ruleId ?? null,
      location: first?.location ?? null,
    });
    if (block)
      this.shut(1008, `pipelock: blocked, message carries a secret (rule ${first?.ruleId})`);
    return !block;
  }

  private deny(rule: string, more: { detail?: string; status?: number }): void {
    this.ctx.audit.write({
      ...this.relay.at,
      decision: "denied",
      rule,
      location: "websocket",
      ...(more.status === undefined ? {} : { status: more.status }),
      ...(more.detail === undefined ? {} : { detail: more.detail }),
    });
  }

  private send(frames: readonly WsFrame[]): void {
    const { client, upstream } = this.relay;
    for (const frame of frames) {
      if (!upstream.write(frame.raw)) {
        client.pause();
        upstream.once("drain", () => client.resume());
      }
    }
  }

  private shut(code: number, reason: string): void {
    this.closed = true;
    this.relay.client.end(closeFrame(code, reason));
    this.relay.upstream.destroy();
  }
}

/**
 * One WebSocket message as the relay scans it: whole, then (if clean) the seam with the end of
 * the messages before it, since whatever crosses the seam lies within `carryBytes` of it on
 * both sides. Returns the verdict, the message's own pieces of known secrets (the seam's scan
 * replaces the verdict, not these) and the tail to keep for the next message.
 */
export function scanMessage(
  scanner: DlpScanner,
  allowedSecrets: ReadonlySet<string>,
  tail: Buffer,
  payload: Buffer,
): { verdict: DlpVerdict; pieces: DlpVerdict["pieces"]; tail: Buffer } {
  const carry = scanner.carryBytes;
  let verdict = scanner.scan({ body: { bytes: payload, label: "websocket" } }, { allowedSecrets });
  const pieces = verdict.pieces;
  if (verdict.status === "clean" && tail.length > 0) {
    const seam = Buffer.concat([tail, payload.subarray(0, carry)]);
    verdict = scanner.scan({ body: { bytes: seam, label: "websocket" } }, { allowedSecrets });
  }
  const joined = tail.length + payload.length;
  // A copy: a slice would keep the whole (up to maxBodyBytes) payload alive.
  const next = Buffer.from(
    payload.length >= carry
      ? payload.subarray(payload.length - carry)
      : Buffer.concat([tail, payload], joined).subarray(Math.max(0, joined - carry)),
  );
  return { verdict, pieces, tail: next };
}
