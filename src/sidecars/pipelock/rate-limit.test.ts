import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limit.js";

function clock() {
  let ms = 0;
  return {
    now: () => ms,
    advance(seconds: number) {
      ms += seconds * 1000;
    },
  };
}

describe("RateLimiter", () => {
  it("lets a burst through at once, then refuses with a Retry-After until tokens come back", () => {
    const c = clock();
    const rates = new RateLimiter(c.now);
    const limit = { perSecond: 2, burst: 5 };
    for (let i = 0; i < 5; i++) expect(rates.take("h.test", limit)).toEqual({ ok: true });
    expect(rates.take("h.test", limit)).toEqual({
      ok: false,
      retryAfterSeconds: 1,
      bursts: 1,
      refusals: 1,
    });
    c.advance(0.5);
    expect(rates.take("h.test", limit).ok).toBe(true);
    expect(rates.take("h.test", limit).ok).toBe(false);
  });

  it("admits at most rate × time + burst over any span", () => {
    const c = clock();
    const rates = new RateLimiter(c.now);
    const limit = { perSecond: 10, burst: 20 };
    let admitted = 0;
    // 100 attempts a second for 5 seconds.
    for (let i = 0; i < 500; i++) {
      if (rates.take("h.test", limit).ok) admitted++;
      c.advance(0.01);
    }
    expect(admitted).toBeLessThanOrEqual(10 * 5 + 20);
    expect(admitted).toBeGreaterThanOrEqual(10 * 5 + 20 - 1);
  });

  it("counts a run of refusals as one burst, and keys apart", () => {
    const c = clock();
    const rates = new RateLimiter(c.now);
    const limit = { perSecond: 1, burst: 1 };
    rates.take("a.test", limit);
    rates.take("a.test", limit);
    rates.take("a.test", limit);
    c.advance(1);
    rates.take("a.test", limit);
    const last = rates.take("a.test", limit);
    expect(last).toMatchObject({ ok: false, bursts: 2, refusals: 3 });
    expect(rates.take("b.test", limit).ok).toBe(true);
    expect(rates.counts()).toEqual([
      { key: "a.test", requests: 2, bursts: 2, refusals: 3 },
      { key: "b.test", requests: 1, bursts: 0, refusals: 0 },
    ]);
  });

  it("never holds more than the burst, however long the bucket was idle", () => {
    const c = clock();
    const rates = new RateLimiter(c.now);
    const limit = { perSecond: 100, burst: 3 };
    c.advance(3600);
    let admitted = 0;
    for (let i = 0; i < 10; i++) if (rates.take("h.test", limit).ok) admitted++;
    expect(admitted).toBe(3);
  });
});
