import type { Config } from '../../config/schema.js';

/** Keys whose demand is remembered; past it all are forgotten (they are re-learnt). */
const MAX_TRACKED = 10_000;

/** Requests of one key seen in the current and the previous lifetime. */
interface Demand {
  since: number;
  count: number;
  previous: number;
}

/** How many tokens a lease call asks for: a key's requests on this instance in about one lifetime. */
export interface LeaseDemand {
  /** A request of the key (counted once, however many times it tries). */
  count(key: string): void;
  /** The key's requests of about one lifetime, the current one excluded, at most `maxTokens` (0: a plain check). */
  want(key: string): number;
  /** Forgets keys not seen for two lifetimes (their demand counts as none anyway): call every lifetime. */
  forget(): void;
}

export function createLeaseDemand(config: Pick<Config['limits']['leases'], 'lifetimeMs' | 'maxTokens'>): LeaseDemand {
  const demand = new Map<string, Demand>();
  return {
    count(key) {
      const now = performance.now();
      let seen = demand.get(key);
      if (seen === undefined) {
        if (demand.size >= MAX_TRACKED) demand.clear();
        seen = { since: now, count: 0, previous: 0 };
        demand.set(key, seen);
      } else if (now - seen.since >= config.lifetimeMs) {
        // A whole lifetime or more without this key counts as none.
        seen.previous = now - seen.since < 2 * config.lifetimeMs ? seen.count : 0;
        seen.since = now;
        seen.count = 0;
      }
      seen.count++;
    },
    want(key) {
      const seen = demand.get(key);
      if (seen === undefined) return 0;
      return Math.min(config.maxTokens, Math.max(seen.previous, seen.count - 1));
    },
    forget() {
      const now = performance.now();
      for (const [key, seen] of demand) if (now - seen.since >= 2 * config.lifetimeMs) demand.delete(key);
    },
  };
}
