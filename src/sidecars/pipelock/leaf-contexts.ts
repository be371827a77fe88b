// TLS server contexts for intercepted hosts, one per host, minted from the bottle CA on first
// use and cached. pipelock keeps two: one for the hosts it intercepts, one for the hosts whose
// refusal it tells inside a tunnel (admission lets only names that carry nothing get there).
import { createSecureContext, type SecureContext } from "node:tls";
import {
  createLeafKey,
  LeafCache,
  type LeafKey,
  mintLeafCertificate,
  type SigningCa,
} from "../../shared/ca/index.js";

interface CachedContext {
  context: SecureContext;
  notAfter: Date;
}

export class LeafContexts {
  readonly #ca: SigningCa;
  readonly #key: LeafKey;
  readonly #now: () => Date;
  readonly #cache = new LeafCache<CachedContext>({ maxEntries: 1000 });
  readonly #minted: string[] = [];

  private constructor(ca: SigningCa, key: LeafKey, now: () => Date) {
    this.#ca = ca;
    this.#key = key;
    this.#now = now;
  }

  /** One key pair serves every leaf of this CA: signing is then the only per-host cost. */
  static async create(ca: SigningCa, now: () => Date): Promise<LeafContexts> {
    return new LeafContexts(ca, await createLeafKey(), now);
  }

  async contextFor(host: string): Promise<SecureContext> {
    const now = this.#now();
    const cached = await this.#cache.getOrMint(host, now, async () => {
      const leaf = await mintLeafCertificate(this.#ca, host, { now, key: this.#key });
      this.#minted.push(host);
      // A record, not a cache: bounded, since refused names are the agent's to invent.
      if (this.#minted.length > 1000) this.#minted.shift();
      return {
        context: createSecureContext({ cert: leaf.chainPem, key: leaf.keyPem }),
        notAfter: leaf.notAfter,
      };
    });
    return cached.context;
  }

  /** The hosts a certificate was minted for, in order (repeats after expiry), the last 1000. */
  mintedHosts(): readonly string[] {
    return this.#minted;
  }
}
