// Scans the corpus items real traffic also carries back from a host (downloads, index pages,
// model streams) as egress reads a route host's answer: its ResponseGuard's body stage, which
// holds and reads a body whole up to its bound and an event stream or the rest in chunks, with
// the bottle's route token as the secret to withhold. Bodies arrive content-decoded, as egress
// decodes them before the guard.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gunzipSync } from "node:zlib";
import { ResponseGuard, TokenWithheldError } from "../../src/sidecars/egress/response-guard.js";
import type { CorpusManifest } from "./corpus-types.js";
import type { ItemResult, Refusal } from "./scan-corpus.js";

const CHUNK_BYTES = 64 * 1024;

export async function scanResponses(
  dir: string,
  manifest: CorpusManifest,
  routeToken: string,
  log?: (line: string) => void,
): Promise<ItemResult[] | undefined> {
  const guard = new ResponseGuard([routeToken]);
  const results: ItemResult[] = [];
  for (const item of manifest.items) {
    if (item.carriage !== "response" && item.alsoResponse !== true) continue;
    const raw = readFileSync(join(dir, item.file));
    const body = item.contentEncoding === "gzip" ? gunzipSync(raw) : raw;
    const started = performance.now();
    const refusals: Refusal[] = [];
    const chunks = function* () {
      for (let at = 0; at < body.length; at += CHUNK_BYTES)
        yield body.subarray(at, at + CHUNK_BYTES);
    };
    try {
      await pipeline(Readable.from(chunks()), guard.bodyStage(item.contentType), async (out) => {
        for await (const _ of out);
      });
    } catch (error) {
      if (!(error instanceof TokenWithheldError)) throw error;
      refusals.push({ rule: `withheld: ${error.finding.rule}`, place: error.finding.place });
    }
    const ms = performance.now() - started;
    results.push({ item, bytes: body.length, ms, refusals });
    log?.(`response ${item.kind} ${item.name}: ${body.length} bytes, ${refusals.length} refusals`);
  }
  return results;
}
