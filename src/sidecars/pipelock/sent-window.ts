// A bottle's memory of the known-secret pieces it has sent, so that a secret cut over several
// requests (halves in two requests, every other character in each of two, pieces over HTTP
// requests and WebSocket messages of any connection) is seen when its last piece is sent, and
// that request or message is refused.
//
// The scan (in a worker or inline) reports which characters of each known secret a request
// carried, by position (see TextMatcher.pieces); the window keeps, for each position of each
// secret, where in the bottle's outbound stream it was last sent. A secret whose positions were
// all sent within the last WINDOW_BYTES of that stream is whole on the other side. One window
// per bottle, across every destination host: a secret cut over two hosts is joined too.
//
// Memory: 8 bytes per character of each known secret (a 64-character secret: 512 bytes),
// whatever the window's size, since no byte sent is kept, only offsets. Never a secret's text.
import { type DlpFinding, type DlpVerdict, KNOWN_SECRET_RULE_ID } from "../../shared/dlp/index.js";

/** Bytes the bottle sends before a piece it sent no longer counts. */
export const WINDOW_BYTES = 1024 * 1024 * 1024;

type Pieces = NonNullable<DlpVerdict["pieces"]>;

export class SentWindow {
  readonly #windowBytes: number;
  /** Per secret: the stream offset each of its positions was last sent at (-1: never). */
  readonly #lastSent = new Map<string, Float64Array>();
  /** Bytes sent so far (the stream's length). */
  #sent = 0;

  constructor(windowBytes = WINDOW_BYTES) {
    this.#windowBytes = windowBytes;
  }

  /**
   * The names of the secrets that `pieces`, with what was sent before within the window, make
   * whole. When there are none, or `sendAnyway` (warn mode), the pieces are recorded as sent,
   * with `size` bytes of stream; a refused request's pieces are not (they never left).
   */
  offer(pieces: Pieces | undefined, size: number, sendAnyway = false): string[] {
    const whole: string[] = [];
    const since = this.#sent - this.#windowBytes;
    for (const piece of pieces ?? []) {
      const last = this.#lastSent.get(piece.secretName);
      const fresh = (i: number) =>
        last !== undefined && (last[i] as number) >= 0 && (last[i] as number) >= since;
      const marks = new Uint8Array(piece.length);
      for (let r = 0; r < piece.ranges.length; r += 2) {
        marks.fill(1, piece.ranges[r], piece.ranges[r + 1]);
      }
      let all = true;
      for (let i = 0; i < piece.length && all; i++) all = marks[i] === 1 || fresh(i);
      if (all) whole.push(piece.secretName);
    }
    if (whole.length > 0 && !sendAnyway) return whole;
    for (const piece of pieces ?? []) {
      let last = this.#lastSent.get(piece.secretName);
      // A secret whose length changed (a reload gave it a new value) starts afresh.
      if (last === undefined || last.length !== piece.length) {
        last = new Float64Array(piece.length).fill(-1);
        this.#lastSent.set(piece.secretName, last);
      }
      for (let r = 0; r < piece.ranges.length; r += 2) {
        last.fill(this.#sent, piece.ranges[r], piece.ranges[r + 1]);
      }
    }
    this.#sent += size;
    return whole;
  }
}

/**
 * Offers a request's (or message's) pieces to the window; the findings for the secrets they
 * make whole, placed at "requests" (no one request holds them). `block`: a request with such
 * findings is refused, so its pieces are not recorded.
 */
export function wholeOverRequests(
  window: SentWindow,
  pieces: Pieces | undefined,
  size: number,
  block: boolean,
): DlpFinding[] {
  if (pieces === undefined || pieces.length === 0) {
    window.offer(undefined, size);
    return [];
  }
  return window.offer(pieces, size, !block).map((secretName) => ({
    ruleId: KNOWN_SECRET_RULE_ID,
    description: `the value of secret ${secretName}, cut over requests`,
    location: "requests",
    preview: `…(${pieces.find((p) => p.secretName === secretName)?.length ?? 0} chars)`,
    secretName,
  }));
}
