// Streams one body from a readable to a writable for the proxies (an upstream answer to the
// client): backpressure, and either side ending early destroys the other. Does what
// stream.pipeline(from, to, done) does for a pair, without its cost on every request: Node 20's
// pipeline makes an AbortController per call and aborts it at the end, building a DOMException
// with a stack trace (7% of pipelock's CPU on small keep-alive requests).
import type { ServerResponse } from "node:http";
import type { Readable, Writable } from "node:stream";

export class PrematureCloseError extends Error {
  constructor(side: "source" | "destination") {
    super(`the ${side} closed before the body was complete`);
    this.name = "PrematureCloseError";
  }
}

/** Calls `done` once: with no error when `to` has finished, else with the first failure. */
export function relayStream(
  from: Readable,
  to: Writable,
  done: (error?: Error) => void = () => {},
): void {
  let settled = false;
  const settle = (error?: Error) => {
    if (settled) return;
    settled = true;
    if (error !== undefined) {
      from.destroy();
      to.destroy();
    }
    done(error);
  };
  from.on("error", settle);
  to.on("error", settle);
  from.on("close", () => {
    if (!from.readableEnded) settle(new PrematureCloseError("source"));
  });
  to.on("close", () => {
    if (!to.writableFinished) settle(new PrematureCloseError("destination"));
  });
  to.on("finish", () => settle());
  from.pipe(to);
}

/**
 * relayStream for a response whose head was written: the head leaves with the first body chunk
 * when that is already here, else at the end of this turn of the event loop. An idle event
 * stream shows its head at once, and a short answer still goes out in one write (one TLS record,
 * one syscall) instead of two.
 */
export function relayResponse(
  from: Readable,
  res: ServerResponse,
  done?: (error?: Error) => void,
): void {
  relayStream(from, res, done);
  let flowing = false;
  from.once("data", () => {
    flowing = true;
  });
  // res.headersSent is already true after writeHead: it says composed, not sent.
  setImmediate(() => {
    if (!flowing && !from.readableEnded && !res.destroyed) res.flushHeaders();
  });
}
