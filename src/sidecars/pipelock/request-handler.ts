// One HTTP request through pipelock, forwarded (http://) or intercepted (inside a tunnel):
// check the target, read the body whole, scan everything the request carries, then forward it
// and stream the answer back. Every outcome writes one audit line. Must never throw.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DlpFinding, DlpVerdict } from "../../shared/dlp/index.js";
import { endToEndHeaders, headerPairs } from "../../shared/hop-headers.js";
import { REFUSAL_HEADER, refusalHeaderValue } from "../../shared/refusal-text.js";
import { relayResponse } from "../../shared/relay-stream.js";
import { admit, REDACTED, shownName } from "./admission.js";
import type { AuditDecision, AuditEvent } from "./audit-log.js";
import { checkDnsQuery } from "./dns-over-https.js";
import {
  bodyTooLarge,
  cannotScan,
  privateUpstream,
  type Refusal,
  scanFailed,
  secretFound,
  upstreamFailed,
} from "./messages.js";
import type { Policy } from "./policy.js";
import { PrivateUpstreamError } from "./private-address.js";
import type { ProxyContext } from "./proxy-context.js";
import { READ_ONLY_RULE, readOnlyRefusal } from "./read-only.js";
import { readBody } from "./request-body.js";
import { resolveRequest } from "./request-target.js";
import { wholeOverRequests } from "./sent-window.js";
import { clientOf, splitPathAndQuery, type Target } from "./target.js";

type AuditBase = Omit<AuditEvent, "decision" | "rule" | "location">;

/** Finding locations whose secret may lie partly in the path: the path is not audited then. */
const PATH_MAY_HOLD: ReadonlySet<string> = new Set(["path", "joined", "requests"]);

export function handleRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  res.on("error", () => res.destroy());
  handle(ctx, req, res).catch((error: unknown) => {
    if (!res.headersSent) respond(res, { status: 500, text: "pipelock: internal error\n" }, true);
    else res.destroy();
    process.stderr.write(`pipelock: request failed: ${describe(error)}\n`);
  });
}

async function handle(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const admitted = admitRequest(ctx, req, res);
  if (admitted === null) return;
  const read = await readAndCheck(ctx, req, res, admitted);
  if (read === null) return;
  const scanned = await scanOrRefuse(ctx, req, res, admitted, read.body);
  if (scanned === null) return;
  const { policy, target, path, check } = admitted;
  const { verdict, bytes } = scanned;
  const findings = [
    ...check.hostFindings,
    ...read.findings,
    ...(verdict.status === "findings" ? verdict.findings : []),
  ];
  const at = admitted.base(
    // A finding joined over places or requests may have a piece in the path.
    findings.some((f) => PATH_MAY_HOLD.has(f.location)) ? REDACTED : path,
  );
  if (verdict.status === "unscannable") {
    const tooLarge = verdict.reason === "too-large";
    const refusal = tooLarge
      ? bodyTooLarge(policy.config.maxBodyBytes)
      : cannotScan(check.shownHost, verdict.detail);
    const rule = tooLarge ? "body-too-large" : "unscannable-encoding";
    refuseWith(
      ctx,
      res,
      at,
      { decision: "denied", rule, location: "body", detail: verdict.detail },
      refusal,
      false,
    );
    return;
  }
  // Pieces of a known secret sent before, here made whole: this request carries the last one.
  const block = policy.config.dlp.action === "block";
  if (findings.length === 0 || !block) {
    const size = bytes.length + admitted.pathAndQuery.length;
    const whole = wholeOverRequests(policy.sentWindow, verdict.pieces, size, block);
    if (whole.length > 0) at.path = REDACTED;
    findings.push(...whole);
  }
  let decision: AuditDecision = "allowed";
  if (findings.length > 0) {
    if (block) {
      const refusal = secretFound(check.shownHost, findings);
      auditFindings(ctx, at, "dlp_block", findings, refusal.status);
      respond(res, refusal, false);
      return;
    }
    decision = "dlp_warn";
  }
  const { pathAndQuery } = admitted;
  forward(ctx, { req, res, target, pathAndQuery, body: bytes, at, decision, findings });
}

/** A request past admission: its target, its path, and how its audit lines begin. */
interface Admitted {
  policy: Policy;
  target: Target;
  pathAndQuery: string;
  path: string;
  query: string | null;
  check: Extract<ReturnType<typeof admit>, { admitted: true }>;
  /** Who asked what of whom, with `path` (redacted or bounded) as the audit line shows it. */
  base: (path: string | null) => AuditBase;
}

/**
 * Resolves the target and admits it (health checks answered here); null once a refusal or
 * an answer has been sent.
 */
function admitRequest(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
): Admitted | null {
  const policy = ctx.policy();
  const tunnel = ctx.tunnels.get(req.socket);
  const method = req.method ?? "GET";
  const resolved = resolveRequest(req, tunnel, policy);
  if (resolved.kind === "health") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    return null;
  }
  const base = (target: Target | undefined, path: string | null, host?: string): AuditBase => ({
    client: tunnel?.client ?? clientOf(req),
    method,
    host: host ?? target?.host.host ?? "",
    port: target?.port ?? 0,
    path,
  });
  if (resolved.kind === "refused") {
    const path = auditablePath(policy, splitPathAndQuery(req.url ?? "").path);
    // Refused before admission: the host was never scanned, so it is shown only if clean.
    const host = resolved.target && shownName(policy, resolved.target.host.host);
    const at = base(resolved.target, path, host);
    const outcome = { decision: "denied" as const, rule: resolved.rule, location: null };
    refuseWith(ctx, res, at, outcome, resolved.refusal, true);
    return null;
  }
  const { target, pathAndQuery } = resolved;
  const { path, query } = splitPathAndQuery(pathAndQuery);
  const check = admit(policy, {
    target,
    client: tunnel?.client ?? clientOf(req),
    method,
    auditPath: () => auditablePath(policy, path),
  });
  if (!check.admitted) {
    ctx.audit.write(check.auditEvent);
    respond(res, check.refusal, true);
    return null;
  }
  const admitted: Admitted = {
    policy,
    target,
    pathAndQuery,
    path,
    query,
    check,
    base: (shown) => base(target, shown, check.shownHost),
  };
  // Before the body is read: a write to a read-only host is refused whatever it carries.
  const readOnly = readOnlyRefusal(policy, target, method, check.shownHost);
  if (readOnly !== undefined) {
    const at = admitted.base(auditablePath(policy, path));
    refuseWith(
      ctx,
      res,
      at,
      { decision: "denied", rule: READ_ONLY_RULE, location: null },
      readOnly,
      true,
    );
    return null;
  }
  return admitted;
}

/** Reads the body whole, within the limit, and checks a DNS-over-HTTPS query; null if refused. */
async function readAndCheck(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  { policy, path, query, check, base }: Admitted,
): Promise<{ body: Buffer; findings: DlpFinding[] } | null> {
  const limit = policy.config.maxBodyBytes;
  const body = await readBody(req, limit);
  if (!body.ok) {
    const at = base(auditablePath(policy, path));
    if (body.reason === "aborted") {
      audit(ctx, at, {
        decision: "error",
        rule: "client-aborted",
        location: null,
        detail: body.detail,
      });
      res.destroy();
      return null;
    }
    const outcome = {
      decision: "denied" as const,
      rule: "body-too-large",
      location: "body",
      detail: body.detail,
    };
    refuseWith(ctx, res, at, outcome, bodyTooLarge(limit), true);
    return null;
  }
  const dns = checkDnsQuery(
    policy,
    { path, query, headers: req.headers, body: body.body },
    check.shownHost,
  );
  if (!dns.ok) {
    const at = base(auditablePath(policy, path));
    refuseWith(
      ctx,
      res,
      at,
      { decision: dns.decision, rule: dns.rule, location: dns.location },
      dns.refusal,
      false,
    );
    return null;
  }
  return { body: body.body, findings: dns.findings };
}

/** Scans all the request carries; a scan that fails is a refusal (fail closed): null then. */
async function scanOrRefuse(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  { policy, target, path, query, check, base }: Admitted,
  body: Buffer,
): Promise<{ verdict: DlpVerdict; bytes: Uint8Array } | null> {
  try {
    const scanned = await policy.scanRequest(
      {
        path,
        ...(query === null ? {} : { query }),
        headers: headerPairs(req.rawHeaders).filter(
          ([n]) => n.toLowerCase() !== "proxy-authorization",
        ),
        body: {
          bytes: body,
          contentType: req.headers["content-type"],
          contentEncoding: req.headers["content-encoding"],
        },
      },
      policy.secretsAllowedTo(target.host, target.port),
    );
    return { verdict: scanned.verdict, bytes: scanned.body ?? body };
  } catch (error) {
    // Fail closed: what could not be scanned is not sent.
    const at = base(auditablePath(policy, path));
    const outcome = {
      decision: "error" as const,
      rule: "scan-failed",
      location: "body",
      detail: describe(error),
    };
    refuseWith(ctx, res, at, outcome, scanFailed(check.shownHost), false);
    return null;
  }
}

interface Forwarding {
  req: IncomingMessage;
  res: ServerResponse;
  target: Target;
  pathAndQuery: string;
  body: Uint8Array;
  at: AuditBase;
  decision: AuditDecision;
  findings: DlpFinding[];
}

function forward(ctx: ProxyContext, f: Forwarding): void {
  const { req, res } = f;
  const headers = endToEndHeaders(req.rawHeaders, ["expect", "content-length"]);
  // The body was read whole: send it with its length, never chunked.
  if (f.body.length > 0 || req.headers["content-length"] !== undefined) {
    headers.push("Content-Length", String(f.body.length));
  }
  const upstream = ctx.upstream.request(f.target, {
    method: req.method ?? "GET",
    pathAndQuery: f.pathAndQuery,
    headers,
  });
  let answered = false;
  upstream.on("socket", (socket) => ctx.track(socket));
  upstream.on("response", (upRes) => {
    answered = true;
    auditFindings(ctx, f.at, f.decision, f.findings, upRes.statusCode);
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, endToEndHeaders(upRes.rawHeaders));
    relayResponse(upRes, res);
  });
  upstream.on("error", (error) => {
    if (answered) {
      res.destroy();
      return;
    }
    answered = true;
    if (error instanceof PrivateUpstreamError) {
      const outcome = { decision: "denied" as const, rule: "private-address", location: null };
      refuseWith(
        ctx,
        res,
        f.at,
        { ...outcome, detail: error.message },
        privateUpstream(error.message),
        false,
      );
      return;
    }
    const outcome = { decision: "error" as const, rule: "upstream-failed", location: null };
    const refusal = upstreamFailed(f.target.host.host, describe(error));
    refuseWith(ctx, res, f.at, { ...outcome, detail: describe(error) }, refusal, false);
  });
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  upstream.end(f.body);
}

function auditFindings(
  ctx: ProxyContext,
  at: AuditBase,
  decision: AuditDecision,
  findings: readonly DlpFinding[],
  status: number | undefined,
): void {
  const first = findings[0];
  const detail =
    findings.length > 1 ? findings.map((f) => `${f.ruleId}@${f.location}`).join(", ") : undefined;
  audit(ctx, at, {
    decision,
    rule: first?.ruleId ?? null,
    location: first?.location ?? null,
    ...(status === undefined ? {} : { status }),
    ...(detail === undefined ? {} : { detail }),
  });
}

/** What an audit line says beyond who asked what of whom. */
interface Outcome {
  decision: AuditDecision;
  rule: string | null;
  location: string | null;
  status?: number;
  detail?: string;
}

function audit(ctx: ProxyContext, at: AuditBase, o: Outcome): void {
  ctx.audit.write({
    ...at,
    decision: o.decision,
    rule: o.rule,
    location: o.location,
    ...(o.status === undefined ? {} : { status: o.status }),
    ...(o.detail === undefined ? {} : { detail: o.detail }),
  });
}

/** One audit line for a refusal, with its status, and the refusal sent. */
function refuseWith(
  ctx: ProxyContext,
  res: ServerResponse,
  at: AuditBase,
  outcome: Omit<Outcome, "status">,
  refusal: Refusal,
  close: boolean,
): void {
  audit(ctx, at, { ...outcome, status: refusal.status });
  respond(res, refusal, close);
}

/**
 * A path fit for the audit log: redacted when it carries a finding (an absolute-form one holds
 * the host too, so its host forms count), and bounded.
 */
export function auditablePath(policy: Policy, path: string): string {
  if (policy.scanner.scan({ path }).status !== "clean") return REDACTED;
  if (policy.hostSecrets.find(path).length > 0) return REDACTED;
  return path.length > 2048 ? `${path.slice(0, 2047)}…` : path;
}

/** Writes a refusal; `close` when the request body may be unread, so the connection ends. */
export function respond(res: ServerResponse, refusal: Refusal, close: boolean): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | number> = {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(refusal.text),
    "x-pipelock": "refused",
    [REFUSAL_HEADER]: refusalHeaderValue(refusal.text),
  };
  if (close) headers.connection = "close";
  res.writeHead(refusal.status, headers).end(refusal.text);
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? error.message : `${code}: ${error.message}`;
  }
  return String(error);
}
