import type { HashReader } from './hash-reader.js';
import { createUsageQueries } from './queries.js';
import { planWrite } from './rollup.js';
import type { UsageStore } from './store.js';

export interface MemoryUsageStoreOptions {
  /** The clock (epoch ms) for expiry and retention checks. Default `Date.now`; tests pass a fake one. */
  now?: () => number;
  /** Hashes kept at most; past this the least recently written is dropped. Default 200_000. */
  maxKeys?: number;
}

interface Entry {
  fields: Map<string, string>;
  /** Epoch ms from which the hash is gone (Redis PEXPIRE semantics); Infinity = no expiry. */
  expiresAt: number;
}

/**
 * Usage rollups in process, for the one-process default: the same keys, hashes, retention and
 * queries as the Redis store (shared rollup.ts and queries.ts). Bounded by `maxKeys`: writes
 * refresh a key's place, so the first keys dropped are the buckets written longest ago.
 */
export function createMemoryUsageStore(options: MemoryUsageStoreOptions = {}): UsageStore & { readonly size: number } {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 200_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new Error(`maxKeys must be a positive integer: ${maxKeys}`);
  // A Map iterates in insertion order: re-inserting on write keeps the least recently written first.
  const hashes = new Map<string, Entry>();

  const live = (key: string): Entry | undefined => {
    const entry = hashes.get(key);
    if (entry && entry.expiresAt <= now()) {
      hashes.delete(key);
      return undefined;
    }
    return entry;
  };

  const reader: HashReader = {
    async read(keys) {
      return keys.map((key) => Object.fromEntries(live(key)?.fields ?? []));
    },
    async readField(keys, field) {
      return keys.map((key) => live(key)?.fields.get(field) ?? null);
    },
    async readFields(keys, fields) {
      return keys.map((key) => fields.map((field) => live(key)?.fields.get(field) ?? null));
    },
  };

  return {
    get size() {
      return hashes.size;
    },
    async write(batch) {
      const t = now();
      for (const group of planWrite(batch)) {
        for (const op of group.ops) {
          const entry = live(op.key) ?? { fields: new Map<string, string>(), expiresAt: Infinity };
          for (const [field, delta] of op.incr) entry.fields.set(field, String(Number(entry.fields.get(field) ?? 0) + delta));
          for (const [field, value] of op.set) entry.fields.set(field, value);
          if (op.ttlMs !== null) entry.expiresAt = t + op.ttlMs;
          hashes.delete(op.key);
          hashes.set(op.key, entry);
        }
      }
      for (const key of hashes.keys()) {
        if (hashes.size <= maxKeys) break;
        hashes.delete(key);
      }
    },
    ...createUsageQueries(reader, now),
  };
}
