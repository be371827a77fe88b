// Reads a request body whole (chunked bodies arrive reassembled by node's parser), refusing
// it as soon as it passes the limit: pipelock scans before it forwards, so it must buffer.
import type { IncomingMessage } from "node:http";

export type BodyResult =
  | { ok: true; body: Buffer }
  | { ok: false; reason: "too-large" | "aborted"; detail: string };

export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.resolve({
      ok: false,
      reason: "too-large",
      detail: `content-length ${declared}`,
    });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        settle({ ok: false, reason: "too-large", detail: `more than ${limit} bytes` });
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => settle({ ok: true, body: Buffer.concat(chunks, size) }));
    req.on("error", (error) => settle({ ok: false, reason: "aborted", detail: error.message }));
    req.on("close", () => {
      if (!req.complete) settle({ ok: false, reason: "aborted", detail: "client went away" });
    });
  });
}
