// The response side of token scrubbing: an upstream response as egress relays it to the
// agent, its headers and body with every route token form replaced (token-scrub.ts). A body
// egress cannot read is never relayed: Content-Encoding gzip, deflate and br are decoded and
// the agent gets the plain body (without Content-Encoding and Content-Length), and any other
// coding, or a Transfer-Encoding other than chunked, is refused. Decoding rather than
// re-encoding: the agent's leg never leaves the machine, so compressing it again would only
// cost CPU and add the latency of a compressor's buffer to event streams.
import type { IncomingMessage } from "node:http";
import { type Readable, Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { headerPairs } from "../../shared/hop-headers.js";
import { type ResponseGuard, withheldMessage } from "./response-guard.js";
import { scrubText, type TokenForm, TokenScrubber } from "./token-scrub.js";

/** The codings egress decodes; requests ask upstreams for these only. */
export const DECODABLE_CODINGS = ["gzip", "deflate", "br"] as const;

export type ScrubbedResponse =
  | { ok: true; headers: string[]; body: Readable }
  | { ok: false; message: string };

/**
 * Headers (already hop-by-hop-free) and body of `upstreamRes` with the token forms replaced;
 * or why egress will not relay it. `method` tells a body-less HEAD answer from an empty body.
 * With a `guard`, the scrubbed status reason and headers are read for what the scrub left of
 * a token (a finding is a refusal), and the body passes the guard's stage last, which fails
 * the body stream with TokenWithheldError on a finding.
 */
export function scrubResponse(
  upstreamRes: IncomingMessage,
  headers: readonly string[],
  forms: readonly TokenForm[],
  method: string,
  guard?: ResponseGuard,
): ScrubbedResponse {
  const transfer = codingsIn(upstreamRes.rawHeaders, "transfer-encoding");
  if (transfer.length > 0 && (transfer.length !== 1 || transfer[0] !== "chunked")) {
    return {
      ok: false,
      message: `the upstream answered with Transfer-Encoding ${JSON.stringify(transfer.join(", "))}; egress reads only chunked bodies, so it cannot check this one for route tokens`,
    };
  }
  const codings = codingsIn(upstreamRes.rawHeaders, "content-encoding").filter(
    (c) => c !== "identity",
  );
  const unknown = codings.filter((c) => !isDecodable(c));
  if (unknown.length > 0) {
    return {
      ok: false,
      message: `the upstream answered with Content-Encoding ${JSON.stringify(codings.join(", "))}; egress decodes only gzip, deflate and br (and asks for no other), so it cannot check this body for route tokens`,
    };
  }
  const decoding = codings.length > 0;
  const out: string[] = [];
  for (const [name, value] of headerPairs(headers)) {
    const lower = name.toLowerCase();
    if (decoding && (lower === "content-encoding" || lower === "content-length")) continue;
    out.push(scrubText(forms, name), scrubText(forms, value));
  }
  const headFinding = guard?.checkHead(scrubText(forms, upstreamRes.statusMessage ?? ""), out);
  if (headFinding !== undefined) return { ok: false, message: withheldMessage(headFinding) };
  const status = upstreamRes.statusCode ?? 0;
  const bodiless =
    method === "HEAD" ||
    status === 204 ||
    status === 304 ||
    upstreamRes.headers["content-length"] === "0";
  const stages: Transform[] = [];
  if (!bodiless) {
    // Content-Encoding lists codings in the order they were applied: undo them last first.
    for (const coding of [...codings].reverse()) stages.push(decoderFor(coding));
  }
  stages.push(scrubStream(forms));
  if (guard !== undefined) stages.push(guard.bodyStage(upstreamRes.headers["content-type"]));
  return { ok: true, headers: out, body: chain(upstreamRes, stages) };
}

function isDecodable(coding: string): boolean {
  return coding === "x-gzip" || (DECODABLE_CODINGS as readonly string[]).includes(coding);
}

function decoderFor(coding: string): Transform {
  switch (coding) {
    case "br":
      return createBrotliDecompress();
    case "deflate":
      return createInflate();
    default:
      return createGunzip();
  }
}

/** Every coding every `name` header lists, lower case, in order. */
export function codingsIn(rawHeaders: readonly string[], name: string): string[] {
  return headerPairs(rawHeaders)
    .filter(([n]) => n.toLowerCase() === name)
    .flatMap(([, value]) => value.split(","))
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "");
}

export function scrubStream(forms: readonly TokenForm[]): Transform {
  const scrubber = new TokenScrubber(forms);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const out = scrubber.push(chunk);
      callback(null, out.length > 0 ? out : undefined);
    },
    flush(callback) {
      const out = scrubber.finish();
      callback(null, out.length > 0 ? out : undefined);
    },
  });
}

/**
 * `source` piped through `stages`; the last stage is returned. A failure anywhere destroys
 * every stage, and the last one closing early destroys the source, so neither side is left
 * waiting on the other.
 */
function chain(source: Readable, stages: readonly Transform[]): Readable {
  const all: Readable[] = [source, ...stages];
  const destroyAll = (error?: Error) => {
    for (const stream of all) if (!stream.destroyed) stream.destroy(error);
  };
  for (let i = 1; i < all.length; i++) {
    const from = all[i - 1] as Readable;
    const to = all[i] as Transform;
    from.on("error", (error: Error) => destroyAll(error));
    from.on("close", () => {
      if (!from.readableEnded) to.destroy(new Error("the upstream closed before the body ended"));
    });
    from.pipe(to);
  }
  const last = all[all.length - 1] as Readable;
  last.on("close", () => {
    if (!last.readableEnded) destroyAll();
  });
  return last;
}
