// The second line behind the token scrub: what a route host sends back, after token-scrub.ts
// replaced the forms it knows, is read by the shared DLP engine for the route tokens in every
// spelling the engine knows (case-changed, reversed, hex with separators, UTF-16, base64 at
// any alignment and twice, gzip inside the body, ...) and in what a reader makes of it
// (response-views.ts: percent-, entity- and backslash-escapes undone). Anything that still
// carries a token, or that the engine cannot read within its bounds, is withheld: the agent
// gets egress's 502, or its WebSocket is closed. The scrub stays in front so that echo
// endpoints keep working; this guard only ever withholds, it never rewrites.
//
// The engine is given the route tokens and their halves as its known secrets, and no
// credential rules: the tokens are what egress must keep from the agent, while a credential
// pattern in an answer (a docs page's example key) is the upstream's business and would only
// withhold ordinary answers. The halves make a token cut into two parts anywhere (a header
// and the body, two headers, two frames) show itself in the larger part.
// It must never return, log or throw a token or a piece of one: findings name the rule, the
// spelling and the place only.
import { Transform, type TransformCallback } from "node:stream";
import {
  createDlpScanner,
  type DlpScanner,
  type KnownSecret,
  secretVariants,
} from "../../shared/dlp/index.js";
import { secretSpellings } from "../../shared/dlp/known-secrets.js";
import { readerViews } from "./response-views.js";

/** A body is held and read whole up to this many bytes, so a withheld one is a clean 502. */
export const WHOLE_BODY_BYTES = 4 * 1024 * 1024;
/** The engine's shortest known secret: shorter halves would match by chance. */
const MIN_PIECE_CHARS = 8;
const SECRET_NAME = "route token";

export interface GuardFinding {
  kind: "token" | "unscannable";
  /** Where: "headers", "body", "websocket", with the engine's and the views' suffixes. */
  place: string;
  /** The engine's rule and the spelling ("known-secret/base64"), or why it could not read. */
  rule: string;
}

/** What the agent (and the log) is told; names the rule and the place, never the value. */
export function withheldMessage(finding: GuardFinding): string {
  return finding.kind === "token"
    ? `egress withheld a response that carried the route's token in a form it cannot scrub (${finding.rule} in ${finding.place})`
    : `egress withheld a response it could not read whole for the route's token (${finding.rule} in ${finding.place}); it passes nothing it cannot check`;
}

export class TokenWithheldError extends Error {
  readonly finding: GuardFinding;
  constructor(finding: GuardFinding) {
    super(withheldMessage(finding));
    this.name = "TokenWithheldError";
    this.finding = finding;
  }
}

/**
 * The token and its two halves (each of at least MIN_PIECE_CHARS), as the engine's known
 * secrets. Cut a token anywhere into two parts and one of them holds a whole half: the left
 * part when the cut is past the middle, else the right one. Two halves rather than every
 * window of a token: each known secret adds its spellings to the engine's automaton, and a
 * table past the processor's cache costs more per byte than the rest of the scan.
 */
export function guardedSecrets(secrets: readonly string[]): KnownSecret[] {
  const values = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_PIECE_CHARS) continue;
    values.add(secret);
    const chars = [...secret];
    const half = Math.ceil(chars.length / 2);
    if (half < MIN_PIECE_CHARS) continue;
    values.add(chars.slice(0, half).join(""));
    values.add(chars.slice(chars.length - half).join(""));
  }
  return [...values].map((value) => ({ name: SECRET_NAME, value }));
}

/** The most bytes one character takes escaped in a form response-views.ts undoes. */
const LONGEST_ESCAPE = 12;

export class ResponseGuard {
  readonly #scanner: DlpScanner | undefined;
  /** Bytes of a stream scanned in pieces that are read again with the next piece. */
  readonly carryBytes: number;

  constructor(secrets: readonly string[]) {
    const known = guardedSecrets(secrets);
    this.#scanner =
      known.length === 0 ? undefined : createDlpScanner({ knownSecrets: known, rules: [] });
    // A form of a token, every character of it escaped, must fit in what is read again.
    let longest = 0;
    for (const secret of known) {
      for (const form of [...secretVariants(secret), ...secretSpellings(secret)]) {
        longest = Math.max(longest, form.text.length);
      }
    }
    this.carryBytes = Math.max(this.#scanner?.carryBytes ?? 0, LONGEST_ESCAPE * longest);
  }

  /** The status line's reason and every header, one by one and joined. */
  checkHead(reason: string, headers: readonly string[]): GuardFinding | undefined {
    const scanner = this.#scanner;
    if (scanner === undefined) return undefined;
    const pairs: [string, string][] = [[":reason", reason]];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      pairs.push([headers[i] as string, headers[i + 1] as string]);
    }
    const verdict = scanner.scan({ headers: pairs });
    const found = findingOf(verdict, "headers");
    if (found !== undefined) return found;
    const text = pairs.map(([name, value]) => `${name}: ${value}`).join("\n");
    return this.check(text, "headers");
  }

  /** One text (a body, a message, a window of a stream) and what a reader makes of it. */
  check(data: Uint8Array | string, place: string, contentType?: string): GuardFinding | undefined {
    const scanner = this.#scanner;
    if (scanner === undefined) return undefined;
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    const first = findingOf(scanner.scan({ body: { bytes, contentType, label: place } }), place);
    if (first !== undefined) return first;
    for (const view of readerViews(bytes)) {
      const found = findingOf(
        scanner.scan({
          body: {
            bytes: Buffer.from(view.text, "latin1"),
            contentType,
            label: `${place}~${view.name}`,
          },
        }),
        place,
      );
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /**
   * A stage for a response body: held and read whole up to WHOLE_BODY_BYTES (nothing reaches
   * the agent before the verdict); an event stream, or what comes past the bound, is read
   * in its chunks as they come, each with the last carryBytes before it. A finding fails the
   * stage with TokenWithheldError.
   */
  bodyStage(contentType: string | undefined): Transform {
    if (this.#scanner === undefined) return new Transform({ transform: passThrough });
    return new GuardStage(this, contentType);
  }

  /** Reads WebSocket payloads in order, each with the end of those before it. */
  messageReader(): (payload: Buffer, place: string) => GuardFinding | undefined {
    let carry = Buffer.alloc(0);
    return (payload, place) => {
      if (this.#scanner === undefined) return undefined;
      const window = carry.length === 0 ? payload : Buffer.concat([carry, payload]);
      const found = this.check(window, place);
      carry = Buffer.from(window.subarray(Math.max(0, window.length - this.carryBytes)));
      return found;
    };
  }
}

function passThrough(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
  callback(null, chunk);
}

function findingOf(
  verdict: ReturnType<DlpScanner["scan"]>,
  place: string,
): GuardFinding | undefined {
  if (verdict.status === "clean") return undefined;
  if (verdict.status === "unscannable") {
    return { kind: "unscannable", place, rule: `${verdict.reason}: ${verdict.detail}` };
  }
  const f = verdict.findings[0];
  if (f === undefined) return undefined;
  return {
    kind: "token",
    place: f.location,
    rule: f.encoding === undefined ? f.ruleId : `${f.ruleId}/${f.encoding}`,
  };
}

function isEventStream(contentType: string | undefined): boolean {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() === "text/event-stream";
}

class GuardStage extends Transform {
  readonly #guard: ResponseGuard;
  readonly #contentType: string | undefined;
  /** Held while the body is read whole. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #whole: boolean;
  /** The end of what was already read and passed, read again with the next chunk. */
  #carry = Buffer.alloc(0);

  constructor(guard: ResponseGuard, contentType: string | undefined) {
    super();
    this.#guard = guard;
    this.#contentType = contentType;
    this.#whole = !isEventStream(contentType);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    if (this.#whole) {
      this.#held.push(chunk);
      this.#heldBytes += chunk.length;
      if (this.#heldBytes <= WHOLE_BODY_BYTES) {
        callback();
        return;
      }
      // Past the bound: what is held is read as one piece, and the rest in its chunks.
      this.#whole = false;
      const held = Buffer.concat(this.#held);
      this.#held = [];
      this.#window(held, callback);
      return;
    }
    this.#window(chunk, callback);
  }

  override _flush(callback: TransformCallback) {
    if (!this.#whole) {
      callback();
      return;
    }
    const body = Buffer.concat(this.#held);
    this.#held = [];
    const found = this.#guard.check(body, "body", this.#contentType);
    if (found !== undefined) callback(new TokenWithheldError(found));
    else callback(null, body.length > 0 ? body : undefined);
  }

  #window(chunk: Buffer, callback: TransformCallback) {
    const window = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
    const found = this.#guard.check(window, "body", this.#contentType);
    if (found !== undefined) {
      callback(new TokenWithheldError(found));
      return;
    }
    const keep = this.#guard.carryBytes;
    this.#carry = Buffer.from(window.subarray(Math.max(0, window.length - keep)));
    callback(null, chunk);
  }
}
