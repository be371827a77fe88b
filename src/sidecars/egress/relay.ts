// Relays one request and its response between the agent and pipelock, streaming both bodies
// (server-sent events and chunked responses arrive as the upstream sends them), and the
// plain-text error pages egress answers with itself.
import type { ClientRequest, IncomingMessage, ServerResponse } from "node:http";
import { type Duplex, type Readable, Transform } from "node:stream";
import { formatRefusal, REFUSAL_HEADER, refusalHeaderValue } from "../../shared/refusal-text.js";
import { relayResponse } from "../../shared/relay-stream.js";
import { downstreamResponseHeaders } from "./proxy-headers.js";
import type { RequestLogEntry } from "./request-log.js";
import type { ResponseGuard } from "./response-guard.js";
import { scrubResponse } from "./response-scrub.js";
import { errorText } from "./routes-config.js";
import { scrubText, type TokenForm } from "./token-scrub.js";

export interface RelayOutcome {
  status: number;
  error?: string;
}

/** What went through: body bytes only, counted as they streamed (never buffered to count). */
export interface RelayedBytes {
  /** The request body as sent upstream. */
  requestBytes: number;
  /** The response body as the upstream sent it, before egress decodes or scrubs it. */
  responseBytes: number;
}

// A kept-alive socket the peer closed while idle fails like this on reuse.
const STALE_SOCKET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
/** RFC 9110 §9.2.2: sending these twice has the effect of sending them once. */
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/**
 * Sends `req`'s body upstream and the response to `res`. Calls `done` once, when the
 * exchange is over either way. Until the response head arrives, an upstream failure becomes
 * a 502 page; after it, the agent's connection is cut so a truncated body never looks
 * complete. An idempotent request without a body that fails on a reused keep-alive socket
 * before any answer is sent once more on a fresh one, as browsers do.
 */
export function relayExchange(options: ExchangeOptions): void {
  new Exchange(options).begin();
}

interface ExchangeOptions {
  req: IncomingMessage;
  res: ServerResponse;
  /** Makes the upstream request; called again for the one retry. */
  send: () => ClientRequest;
  redact: (text: string) => string;
  /** Route token forms to take out of the response's headers and body. */
  scrub: readonly TokenForm[];
  /** Reads what the scrub left for the tokens; a finding withholds the response. */
  guard?: ResponseGuard;
  /** The request body when egress has already read it whole; else it is streamed. */
  body?: Buffer;
  done: (outcome: RelayOutcome & RelayedBytes) => void;
}

/** One request and its answer, with the one retry a stale keep-alive socket earns. */
class Exchange {
  private outcome: RelayOutcome | undefined;
  private readonly bytes: RelayedBytes = { requestBytes: 0, responseBytes: 0 };
  private readonly bodyless: boolean;
  private retried: boolean;
  private upstream: ClientRequest | undefined;

  constructor(private readonly o: ExchangeOptions) {
    const { req, body } = o;
    this.bodyless =
      body !== undefined ||
      (req.headers["content-length"] === undefined &&
        req.headers["transfer-encoding"] === undefined);
    this.retried = !IDEMPOTENT_METHODS.has(req.method ?? "");
  }

  begin(): void {
    const { req, res } = this.o;
    req.on("error", () => this.upstream?.destroy());
    res.on("close", () => {
      if (!res.writableFinished) {
        this.upstream?.destroy();
        this.settle({
          status: res.headersSent ? res.statusCode : 499,
          error: "the agent closed the connection",
        });
      }
    });
    if (this.bodyless) req.resume();
    this.start();
  }

  private settle(o: RelayOutcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = o;
    this.o.done({ ...o, ...this.bytes });
  }

  /** egress's own 502 page, and the outcome that says why. */
  private fail(page: string, error: string): void {
    sendErrorPage(this.o.res, 502, page, this.o.redact);
    this.settle({ status: 502, error });
  }

  private start(): void {
    const { req, body, redact } = this.o;
    let upstream: ClientRequest;
    try {
      upstream = this.o.send();
    } catch (error) {
      const text = redact(errorText(error));
      this.fail(`egress could not build the upstream request: ${text}`, text);
      return;
    }
    this.upstream = upstream;
    upstream.on("response", (upstreamRes: IncomingMessage) => this.onResponse(upstreamRes));
    upstream.on("error", (error: NodeJS.ErrnoException) => this.onError(error));
    if (body !== undefined) {
      this.bytes.requestBytes = body.length;
      upstream.end(body);
    } else if (this.bodyless) upstream.end();
    else {
      req.pipe(upstream);
      // A second listener beside pipe's: it sees each chunk as pipe hands it on.
      req.on("data", (chunk: Buffer) => {
        this.bytes.requestBytes += chunk.length;
      });
    }
  }

  private onResponse(upstreamRes: IncomingMessage): void {
    const { req, res, redact, scrub } = this.o;
    const status = upstreamRes.statusCode ?? 502;
    const scrubbed = scrubResponse(
      upstreamRes,
      downstreamResponseHeaders(upstreamRes.rawHeaders),
      scrub,
      req.method ?? "GET",
      this.o.guard,
    );
    if (!scrubbed.ok) {
      upstreamRes.destroy();
      this.fail(
        `egress refused the upstream's answer: ${scrubbed.message}`,
        redact(scrubbed.message),
      );
      return;
    }
    upstreamRes.on("data", (chunk: Buffer) => {
      this.bytes.responseBytes += chunk.length;
    });
    // The head waits for the body's first checked bytes (or its end): a body the guard
    // withholds is then answered with egress's 502 instead of a cut connection.
    gateHead(
      scrubbed.body,
      isEventStream(upstreamRes.headers["content-type"]),
      (responseBody) => {
        try {
          const reason = scrubText(scrub, upstreamRes.statusMessage ?? "");
          res.writeHead(status, reason, scrubbed.headers);
        } catch (error) {
          responseBody.destroy();
          this.fail(
            `egress could not relay the response: ${errorText(error)}`,
            redact(errorText(error)),
          );
          return;
        }
        relayResponse(responseBody, res, (error) => {
          this.settle(error ? { status, error: redact(errorText(error)) } : { status });
        });
      },
      (error) => this.fail(errorText(error), redact(errorText(error))),
    );
  }

  private onError(error: NodeJS.ErrnoException): void {
    const { req, res, redact } = this.o;
    const upstream = this.upstream;
    const stale = upstream?.reusedSocket === true && STALE_SOCKET_CODES.has(error.code ?? "");
    if (this.bodyless && stale && !this.retried && !res.headersSent && this.outcome === undefined) {
      this.retried = true;
      this.start();
      return;
    }
    if (upstream !== undefined) req.unpipe(upstream);
    const text = redact(errorText(error));
    if (!res.headersSent) {
      this.fail(`egress could not complete the request upstream: ${text}`, text);
    } else {
      res.destroy();
      this.settle({ status: 502, error: text });
    }
  }
}

/**
 * `body` through a stage that calls `open` before its first bytes or its end pass (at once
 * for an event stream, whose head should show while it is idle), so the head can be written
 * then. A failure before that goes to `failEarly` instead of the stream's consumer.
 */
export function gateHead(
  body: Readable,
  openNow: boolean,
  open: (gate: Readable) => void,
  failEarly: (error: Error) => void,
): Readable {
  let opened = false;
  const openOnce = () => {
    if (opened) return;
    opened = true;
    body.off("error", early);
    open(gate);
  };
  const gate = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      openOnce();
      callback(null, chunk);
    },
    flush(callback) {
      openOnce();
      callback();
    },
  });
  const early = (error: Error) => {
    if (opened) return;
    opened = true;
    gate.destroy();
    failEarly(error);
  };
  body.on("error", early);
  body.on("error", (error: Error) => {
    if (!gate.destroyed) gate.destroy(error);
  });
  gate.on("close", () => {
    if (!gate.readableEnded && !body.destroyed) body.destroy();
  });
  body.pipe(gate);
  if (openNow) openOnce();
  return gate;
}

export function isEventStream(contentType: string | undefined): boolean {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() === "text/event-stream";
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
  const body = formatRefusal({ reason: redact(message) });
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "x-claude-bottle-egress": "error",
    [REFUSAL_HEADER]: refusalHeaderValue(body),
  });
  res.end(body);
}

/** The same page on a raw socket, for answers given before any HTTP exchange exists. */
export function rawErrorResponse(status: number, reason: string, message: string): string {
  const body = formatRefusal({ reason: message });
  return [
    `HTTP/1.1 ${status} ${reason}`,
    "content-type: text/plain; charset=utf-8",
    `content-length: ${Buffer.byteLength(body)}`,
    "x-claude-bottle-egress: error",
    `${REFUSAL_HEADER}: ${refusalHeaderValue(body)}`,
    "connection: close",
    "",
    body,
  ].join("\r\n");
}

/**
 * A request Node's parser rejected: 431 for oversized headers, 400 for the rest, logged, and
 * the socket ends; a reset or an unwritable socket is just closed. `inside` names the
 * tunnel for requests parsed inside one.
 */
export function answerUnparsable(
  error: NodeJS.ErrnoException,
  socket: Duplex,
  options: {
    log: (entry: RequestLogEntry) => void;
    host: string;
    inside?: { log: string; page: string };
  },
): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large"]
      : [400, "Bad Request"];
  const inside = options.inside;
  options.log({
    kind: "refused",
    routed: false,
    host: options.host,
    method: "",
    path: null,
    status,
    error: `unparsable request${inside ? ` inside ${inside.log}` : ""} (${error.code ?? "parse error"})`,
  });
  socket.end(
    rawErrorResponse(
      status,
      reason,
      `egress could not parse this request${inside ? ` inside ${inside.page}` : ""}`,
    ),
  );
}
