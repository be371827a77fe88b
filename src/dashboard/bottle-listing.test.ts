import { describe, expect, it } from "vitest";
import type { FoundBottle } from "../backend/backend.js";
import { BottleListing } from "./bottle-listing.js";

/** A listing whose engine answers when told to, counting the times it was asked. */
function harness() {
  let clock = 10_000;
  let asked = 0;
  const pending: Array<(found: FoundBottle[]) => void> = [];
  const listing = new BottleListing(
    () =>
      new Promise<FoundBottle[]>((resolve) => {
        asked++;
        pending.push(resolve);
      }),
    () => clock,
  );
  const answer = (slug: string) => {
    for (const resolve of pending.splice(0)) resolve([{ slug } as FoundBottle]);
  };
  return {
    listing,
    answer,
    asked: () => asked,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const slugs = (l: { found: FoundBottle[] }) => l.found.map((b) => b.slug);

describe("the bottle listing", () => {
  it("asks once for callers close together, and again when the last one is too old", async () => {
    const h = harness();
    const a = h.listing.fresh();
    const b = h.listing.fresh();
    h.answer("one");
    expect([slugs(await a), slugs(await b)]).toEqual([["one"], ["one"]]);
    h.advance(900);
    expect(slugs(await h.listing.fresh(1000))).toEqual(["one"]);
    expect(h.asked()).toBe(1);
    h.advance(200);
    const c = h.listing.fresh(1000);
    h.answer("two");
    expect(slugs(await c)).toEqual(["two"]);
    expect(h.asked()).toBe(2);
  });

  it("gives a recent listing at once, however old, short of staleness", async () => {
    const h = harness();
    const first = h.listing.recent();
    h.answer("one");
    await first;
    h.advance(50_000);
    expect(slugs(await h.listing.recent(60_000))).toEqual(["one"]);
    expect(h.asked()).toBe(1);
  });

  it("waits for a new listing when the last is past staleness, and passes on a failure", async () => {
    const failing = new BottleListing(async () => {
      throw new Error("engine down");
    });
    await expect(failing.recent()).rejects.toThrow("engine down");
    await expect(failing.fresh()).rejects.toThrow("engine down");
    const h = harness();
    const first = h.listing.fresh();
    h.answer("one");
    await first;
    h.advance(61_000);
    let settled = false;
    const late = h.listing.recent(60_000).then((l) => {
      settled = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(settled).toBe(false);
    h.answer("two");
    expect(slugs(await late)).toEqual(["two"]);
  });
});
