// A small LRU of leaf certificates (or anything derived from one) keyed by host. Concurrent
// requests for the same host share one mint; expired or failed entries are minted again.

export interface LeafCacheOptions {
  /** Defaults to 1000. */
  maxEntries?: number;
  /** Re-mint this long before notAfter; defaults to one day. */
  renewBeforeMs?: number;
}

interface Entry<V> {
  value: Promise<V>;
  /** Known once the mint settles. */
  notAfter: number | undefined;
}

export class LeafCache<V extends { notAfter: Date }> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #maxEntries: number;
  readonly #renewBeforeMs: number;

  constructor(options: LeafCacheOptions = {}) {
    this.#maxEntries = Math.max(1, options.maxEntries ?? 1000);
    this.#renewBeforeMs = options.renewBeforeMs ?? 24 * 60 * 60 * 1000;
  }

  get size(): number {
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  getOrMint(key: string, now: Date, mint: () => Promise<V>): Promise<V> {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      const stale =
        hit.notAfter !== undefined && now.getTime() >= hit.notAfter - this.#renewBeforeMs;
      this.#entries.delete(key);
      if (!stale) {
        // Re-inserted last: Map order is the recency order.
        this.#entries.set(key, hit);
        return hit.value;
      }
    }
    const entry: Entry<V> = { value: mint(), notAfter: undefined };
    entry.value.then(
      (v) => {
        entry.notAfter = v.notAfter.getTime();
      },
      () => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      },
    );
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return entry.value;
  }

  clear(): void {
    this.#entries.clear();
  }
}
