// Relays one request and its response between the agent and pipelock, streaming both bodies
// (server-sent events and chunked responses arrive as the upstream sends them), and the
// plain-text error pages egress answers with itself.
import type { ClientRequest, IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream";
import { downstreamResponseHeaders } from "./proxy-headers.js";
import { errorText } from "./routes-config.js";

export interface RelayOutcome {
  status: number;
  error?: string;
}

/**
 * Sends `req`'s body into `upstream` and `upstream`'s response to `res`. Calls `done` once,
 * when the exchange is over either way. Until the response head arrives, an upstream failure
 * becomes a 502 page; after it, the agent's connection is cut so a truncated body never
 * looks complete.
 */
export function relayExchange(options: {
  req: IncomingMessage;
  res: ServerResponse;
  upstream: ClientRequest;
  redact: (text: string) => string;
  done: (outcome: RelayOutcome) => void;
}): void {
  const { req, res, upstream, redact } = options;
  let outcome: RelayOutcome | undefined;
  const settle = (o: RelayOutcome) => {
    if (outcome !== undefined) return;
    outcome = o;
    options.done(o);
  };

  upstream.on("response", (upstreamRes: IncomingMessage) => {
    const status = upstreamRes.statusCode ?? 502;
    try {
      res.writeHead(
        status,
        upstreamRes.statusMessage,
        downstreamResponseHeaders(upstreamRes.rawHeaders),
      );
    } catch (error) {
      upstreamRes.destroy();
      sendErrorPage(res, 502, `egress could not relay the response: ${errorText(error)}`, redact);
      settle({ status: 502, error: redact(errorText(error)) });
      return;
    }
    // Headers go out now, not with the first body chunk: an idle event stream stays visible.
    res.flushHeaders();
    pipeline(upstreamRes, res, (error) => {
      settle(error ? { status, error: redact(errorText(error)) } : { status });
    });
  });

  upstream.on("error", (error) => {
    req.unpipe(upstream);
    const text = redact(errorText(error));
    if (!res.headersSent) {
      sendErrorPage(res, 502, `egress could not complete the request upstream: ${text}`, redact);
    } else {
      res.destroy();
    }
    settle({ status: 502, error: text });
  });

  req.on("error", () => upstream.destroy());
  res.on("close", () => {
    if (!res.writableFinished) {
      upstream.destroy();
      settle({
        status: res.headersSent ? res.statusCode : 499,
        error: "the agent closed the connection",
      });
    }
  });
  req.pipe(upstream);
}

/** A short text/plain answer from egress itself; `redact` guards its body. */
export function sendErrorPage(
  res: ServerResponse,
  status: number,
  message: string,
  redact: (text: string) => string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${redact(message)}\n`;
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "x-claude-bottle-egress": "error",
  });
  res.end(body);
}

/** The same page on a raw socket, for answers given before any HTTP exchange exists. */
export function rawErrorResponse(status: number, reason: string, message: string): string {
  const body = `${message}\n`;
  return [
    `HTTP/1.1 ${status} ${reason}`,
    "content-type: text/plain; charset=utf-8",
    `content-length: ${Buffer.byteLength(body)}`,
    "x-claude-bottle-egress: error",
    "connection: close",
    "",
    body,
  ].join("\r\n");
}
