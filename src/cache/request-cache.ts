import DataLoader from 'dataloader';
import type { GuardedStore } from './guarded-store.js';

/** What happened to one cached field in a response. */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE';

/** `extensions.cache` of a response: no key material, only response paths and outcomes. */
export interface CacheReport {
  hits: number;
  misses: number;
  /** Expired values served while one request refreshes them (stale-while-revalidate). */
  stale: number;
  /** True when a cache call failed, timed out or was skipped by the open breaker: misses came from that. */
  degraded?: true;
  /** Response path (`products.0.inventory`) -> outcome. */
  fields: Record<string, CacheStatus>;
}

/** Most keys in one MGET; a bigger tick is split. */
const MAX_BATCH = 500;

/**
 * One request's view of the cache: a DataLoader over the store's `getMany`, so every cached field
 * resolved in the same execution tick (siblings, a list's items) is read in one round trip
 * together with its invalidation tags, and a key read twice in a request is read once. It never
 * rejects: a failed read is a miss for every key of the batch. Created on first use, dropped with
 * the request.
 */
export function createRequestCache(store: GuardedStore) {
  let degraded = false;
  const fields: Record<string, CacheStatus> = {};
  const counts = { HIT: 0, MISS: 0, STALE: 0 };

  const loader = new DataLoader<string, unknown>(
    async (keys) => {
      try {
        return await store.getMany(keys);
      } catch {
        degraded = true;
        return keys.map(() => undefined);
      }
    },
    { maxBatchSize: MAX_BATCH },
  );

  return {
    /** Raw stored values for `keys`, in order; undefined when absent or unreadable. */
    async read(keys: readonly string[]): Promise<unknown[]> {
      return Promise.all(keys.map((key) => loader.load(key)));
    },
    /** After a write: later reads of `key` in this request see `value` without a round trip. */
    remember(key: string, value: unknown): void {
      loader.clear(key).prime(key, value);
    },
    /** After an invalidation: later reads of these keys in this request go to the store again. */
    forget(keys: readonly string[]): void {
      for (const key of keys) loader.clear(key);
    },
    markDegraded(): void {
      degraded = true;
    },
    record(path: string, status: CacheStatus): void {
      const previous = fields[path];
      if (previous) counts[previous]--;
      fields[path] = status;
      counts[status]++;
    },
    /** The report for `extensions.cache`; null when the request resolved no cached field. */
    report(): CacheReport | null {
      if (Object.keys(fields).length === 0 && !degraded) return null;
      return { hits: counts.HIT, misses: counts.MISS, stale: counts.STALE, ...(degraded ? { degraded: true as const } : {}), fields };
    },
  };
}

export type RequestCache = ReturnType<typeof createRequestCache>;
