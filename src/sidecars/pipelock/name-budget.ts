// How many distinct names a bottle may use under each "*.domain" allow rule. Every new name
// under a wildcard reaches the domain's name server (and its operator) when pipelock looks it
// up, so names made of ordinary words, each passing the label bounds, can still spell out a
// secret one name at a time. A budget per rule bounds that: a name admitted once stays
// admitted; past the budget a new name is refused before anything resolves it. Memory: at
// most `budget` names (each at most 253 characters) per wildcard rule ever in force.

export type NameAdmission =
  | { ok: true; used: number }
  | { ok: false; used: number; budget: number };

export class NameBudget {
  /** Wildcard pattern → the distinct names admitted under it, lowercase. */
  readonly #names = new Map<string, Set<string>>();

  /**
   * Admits `name` under `pattern` if it was admitted before or the budget has room (and then
   * counts it); refuses it otherwise, counting nothing.
   */
  admit(pattern: string, name: string, budget: number): NameAdmission {
    let names = this.#names.get(pattern);
    if (names === undefined) {
      names = new Set();
      this.#names.set(pattern, names);
    }
    const key = name.toLowerCase();
    if (names.has(key)) return { ok: true, used: names.size };
    if (names.size >= budget) return { ok: false, used: names.size, budget };
    names.add(key);
    return { ok: true, used: names.size };
  }

  /** Each wildcard rule with the number of distinct names admitted under it. */
  usage(): { pattern: string; names: number }[] {
    return [...this.#names].map(([pattern, names]) => ({ pattern, names: names.size }));
  }
}
