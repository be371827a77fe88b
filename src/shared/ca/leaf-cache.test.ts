import { describe, expect, it } from "vitest";
import { LeafCache } from "./leaf-cache.js";

const now = new Date("2025-01-01T00:00:00Z");
const later = (days: number) => new Date(now.getTime() + days * 86400_000);
const value = (tag: string, notAfter = later(30)) => ({ tag, notAfter });

describe("LeafCache", () => {
  it("mints once for concurrent requests of one host", async () => {
    const cache = new LeafCache<ReturnType<typeof value>>();
    let mints = 0;
    const mint = async () => {
      mints += 1;
      return value("a");
    };
    const [x, y] = await Promise.all([
      cache.getOrMint("a", now, mint),
      cache.getOrMint("a", now, mint),
    ]);
    expect(x).toBe(y);
    expect(mints).toBe(1);
  });

  it("evicts the least recently used entry", async () => {
    const cache = new LeafCache<ReturnType<typeof value>>({ maxEntries: 2 });
    await cache.getOrMint("a", now, async () => value("a"));
    await cache.getOrMint("b", now, async () => value("b"));
    await cache.getOrMint("a", now, async () => value("a2"));
    await cache.getOrMint("c", now, async () => value("c"));
    expect(cache.has("a")).toBe(true);
    expect(cache.has("b")).toBe(false);
    expect(cache.size).toBe(2);
  });

  it("re-mints entries close to expiry and forgets failures", async () => {
    const cache = new LeafCache<ReturnType<typeof value>>({ renewBeforeMs: 86400_000 });
    await cache.getOrMint("a", now, async () => value("old", later(2)));
    const fresh = await cache.getOrMint("a", later(1.5), async () => value("new"));
    expect(fresh.tag).toBe("new");
    await expect(
      cache.getOrMint("b", now, async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await Promise.resolve();
    expect(cache.has("b")).toBe(false);
  });
});
