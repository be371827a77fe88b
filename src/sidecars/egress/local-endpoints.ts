// egress's own endpoints under /__egress/: the routes it holds (never their tokens) for the
// agent to discover, and a health check for Compose.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  EGRESS_HEALTHZ_ENDPOINT,
  EGRESS_HOSTNAME,
  EGRESS_ROUTES_ENDPOINT,
} from "../../contracts/egress.js";
import { sendErrorPage } from "./relay.js";
import type { RequestLogEntry } from "./request-log.js";
import { publicRoutes, type ResolvedRoute } from "./routes-config.js";

export function answerLocalEndpoint(options: {
  req: IncomingMessage;
  res: ServerResponse;
  /** Without query. */
  path: string;
  routes: readonly ResolvedRoute[];
  redact: (text: string) => string;
  log: (entry: RequestLogEntry) => void;
}): void {
  const { req, res, path, redact } = options;
  const method = req.method ?? "GET";
  let status = 200;
  if (path !== EGRESS_HEALTHZ_ENDPOINT && path !== EGRESS_ROUTES_ENDPOINT) {
    status = 404;
    const message = `egress serves ${EGRESS_ROUTES_ENDPOINT} and ${EGRESS_HEALTHZ_ENDPOINT}`;
    sendErrorPage(res, status, message, redact);
  } else if (method !== "GET" && method !== "HEAD") {
    status = 405;
    sendErrorPage(res, status, `${path} answers GET only`, redact);
  } else {
    const healthz = path === EGRESS_HEALTHZ_ENDPOINT;
    // Built from the public view only; the redactor is a second guard, not the first.
    const body = healthz
      ? "ok\n"
      : redact(`${JSON.stringify({ routes: publicRoutes(options.routes) }, null, 2)}\n`);
    res.writeHead(200, {
      "content-type": healthz ? "text/plain; charset=utf-8" : "application/json",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
    });
    res.end(method === "HEAD" ? undefined : body);
  }
  req.resume();
  options.log({ kind: "local", routed: false, host: EGRESS_HOSTNAME, method, path, status });
}
