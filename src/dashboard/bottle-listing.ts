// The engine's listing of this machine's bottles, asked once for everyone who needs it at
// about the same time. Asking costs two `docker` commands (40-60 ms); the dashboard needs
// it for every page, every poll and its log follower. A caller says how old a listing it
// can use: a poll wants one from the last second; the first drawing of a page takes any from
// the last minute, drawn at once and marked stale for the page to ask again.
import type { FoundBottle } from "../backend/backend.js";

export interface Listing {
  found: FoundBottle[];
  /** When the engine was asked (ms since the epoch). */
  listedAt: number;
}

/** A poll's listing: asked for again when older than this (ms). */
export const FRESH_MS = 1000;
/** A first drawing's: any younger than this is drawn at once (ms). */
export const STALE_MS = 60_000;

export class BottleListing {
  private last: Listing | null = null;
  private asking: Promise<Listing> | null = null;

  constructor(
    private readonly list: () => Promise<FoundBottle[]>,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A listing at most `maxAgeMs` old: the last one, or the one being asked for, or a new one. */
  async fresh(maxAgeMs = FRESH_MS): Promise<Listing> {
    if (this.last !== null && this.clock() - this.last.listedAt <= maxAgeMs) return this.last;
    return this.ask();
  }

  /** The last listing if it is younger than `staleMs`; otherwise, as `fresh`, a new one. */
  async recent(staleMs = STALE_MS): Promise<Listing> {
    const last = this.last;
    if (last !== null && this.clock() - last.listedAt <= staleMs) return last;
    return this.fresh();
  }

  private ask(): Promise<Listing> {
    if (this.asking !== null) return this.asking;
    const listedAt = this.clock();
    const asking = this.list().then((found) => {
      const listing = { found, listedAt };
      if (this.last === null || this.last.listedAt <= listedAt) this.last = listing;
      return listing;
    });
    this.asking = asking;
    const done = () => {
      if (this.asking === asking) this.asking = null;
    };
    asking.then(done, done);
    return asking;
  }
}
