import type { Config } from '../../config/schema.js';

/** Byte-budget keys whose response sizes are remembered; past it all are forgotten (they are re-learnt). */
const MAX_TRACKED = 10_000;

/** The largest response on one key in the current and the previous lifetime. */
interface Sizes {
  since: number;
  largest: number;
  previous: number;
}

/**
 * How many response bytes a lease reserves per request on a byte budget (ALGORITHM.md, "Byte budgets
 * in leases"): the largest response on the budget's key (the tenant's) in about the last two lease
 * lifetimes, so that a request whose response is no larger than its recent ones always fits its own
 * draw. None seen (a new or idle tenant): 0, and the request is checked on its own, which teaches the
 * size to the next one.
 */
export interface ResponseSizes {
  /** A response of `bytes` counted on the byte budget `key`. */
  record(key: string, bytes: number): void;
  /** Bytes to reserve per request on `key`; 0: none seen lately. */
  perRequest(key: string): number;
  /** Forgets keys not seen for two lifetimes (their sizes count as none anyway): call every lifetime. */
  forget(): void;
}

export function createResponseSizes(config: Pick<Config['limits']['leases'], 'lifetimeMs'>): ResponseSizes {
  const sizes = new Map<string, Sizes>();
  const current = (seen: Sizes, now: number): Sizes => {
    if (now - seen.since >= config.lifetimeMs) {
      // A whole lifetime or more without a response on the key counts as none.
      seen.previous = now - seen.since < 2 * config.lifetimeMs ? seen.largest : 0;
      seen.since = now;
      seen.largest = 0;
    }
    return seen;
  };
  return {
    record(key, bytes) {
      const now = performance.now();
      let seen = sizes.get(key);
      if (seen === undefined) {
        if (sizes.size >= MAX_TRACKED) sizes.clear();
        seen = { since: now, largest: 0, previous: 0 };
        sizes.set(key, seen);
      }
      seen = current(seen, now);
      if (bytes > seen.largest) seen.largest = bytes;
    },
    perRequest(key) {
      const seen = sizes.get(key);
      if (seen === undefined) return 0;
      const now = current(seen, performance.now());
      return Math.max(now.largest, now.previous);
    },
    forget() {
      const now = performance.now();
      for (const [key, seen] of sizes) if (now - seen.since >= 2 * config.lifetimeMs) sizes.delete(key);
    },
  };
}
