// Which agent program (provider) a bottle runs: its bottle manifest's `agent:` key, read from
// the claude-bottle home by the name the bottle's metadata records (bottles come only from
// the home). Read once per bottle and kept, so an edit to the manifest after the bottle
// started does not change what is shown for it; unknown while the manifest cannot be read.
import { loadBottle } from "../manifest/load-bottle.js";
import type { AgentProvider } from "../manifest/resolved-bottle.js";

export type LoadProvider = (bottle: string, home: string) => Promise<AgentProvider>;

const fromManifest: LoadProvider = async (bottle, home) =>
  (await loadBottle(bottle, { home })).agent;

export class BottleProviders {
  readonly #known = new Map<string, Promise<AgentProvider | null>>();

  constructor(private readonly load: LoadProvider = fromManifest) {}

  /** The provider of the bottle `slug`, started at `createdAt` from bottle manifest `bottle`. */
  providerOf(
    home: string,
    bottle: { slug: string; bottle: string | null; createdAt: string | null },
  ): Promise<AgentProvider | null> {
    if (bottle.bottle === null) return Promise.resolve(null);
    const key = `${home}\0${bottle.slug}\0${bottle.createdAt ?? ""}`;
    let known = this.#known.get(key);
    if (known === undefined) {
      known = this.load(bottle.bottle, home).catch(() => {
        // Not kept: asked again on the next refresh, once the manifest may be readable.
        this.#known.delete(key);
        return null;
      });
      this.#known.set(key, known);
    }
    return known;
  }
}
