// A request rate per host for one bottle: a token bucket per key (a host, or one bucket for
// every name under a "*.domain" rule, so spreading requests over names gains nothing). Each
// request that would go upstream takes a token; tokens come back at `perSecond` up to
// `burst`. Without a bound, a clean request per few bits (which path of a word list it asks
// for) carries data at the speed of the link. Counts per key: refusals, and bursts (runs of
// refusals, each started by a request that found the bucket empty). Memory: one small record
// per key, and keys are bounded by the allow rules ever in force. Pure but for the clock.

export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** The most tokens the bucket holds: requests allowed at once after a quiet spell. */
  burst: number;
}

export type RateDecision =
  | { ok: true }
  | {
      ok: false;
      /** Whole seconds until a token is back. */
      retryAfterSeconds: number;
      bursts: number;
      refusals: number;
    };

export interface RateCounts {
  key: string;
  requests: number;
  bursts: number;
  refusals: number;
}

interface Bucket {
  tokens: number;
  /** Milliseconds, of the clock passed in. */
  at: number;
  requests: number;
  bursts: number;
  refusals: number;
  /** Whether the last request was refused (a run of refusals is one burst). */
  refusing: boolean;
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Takes a token for `key` under `limit` (read each time, so a reload applies at once). */
  take(key: string, limit: RateLimit): RateDecision {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = {
        tokens: limit.burst,
        at: now,
        requests: 0,
        bursts: 0,
        refusals: 0,
        refusing: false,
      };
      this.#buckets.set(key, bucket);
    }
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(limit.burst, bucket.tokens + elapsed * limit.perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.requests += 1;
      bucket.refusing = false;
      return { ok: true };
    }
    if (!bucket.refusing) bucket.bursts += 1;
    bucket.refusing = true;
    bucket.refusals += 1;
    return {
      ok: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond)),
      bursts: bucket.bursts,
      refusals: bucket.refusals,
    };
  }

  counts(): RateCounts[] {
    return [...this.#buckets].map(([key, b]) => ({
      key,
      requests: b.requests,
      bursts: b.bursts,
      refusals: b.refusals,
    }));
  }
}
