import type { RedisClient } from '../stores/redis.js';

/** Operations are filed by the UTC day of the requests that ran them (`Math.floor(ms / DAY_MS)`). */
export const DAY_MS = 86_400_000;

/**
 * Where the operations the record names live (operation-book.ts): per UTC day, a map of entries,
 * `d:<document key>` -> `[name, text]` (JSON) and `v:<operation key>` -> the variables (JSON).
 * A day is kept until the record of its last minute expires.
 */
export interface OperationStore {
  /** Adds entries to a day; `expiresAt` (epoch ms) is when the whole day may go. Rejects when the write failed. */
  put(day: number, entries: readonly (readonly [field: string, value: string])[], expiresAt: number): Promise<void>;
  /** The values of `fields` of one day, null where there is none, in the order asked. */
  get(day: number, fields: readonly string[]): Promise<(string | null)[]>;
}

/** `record:ops:<epoch day>`: one Redis hash per UTC day. */
export function operationsKey(day: number): string {
  return `record:ops:${day}`;
}

/** Fields asked for in one HMGET: a day of a busy API may hold many. */
const READ_CHUNK = 1000;

/**
 * Redis: one hash per day, written with HSET and PEXPIREAT in one pipeline (a single key: works on
 * a Redis Cluster as is). Entries are content-addressed, so two instances writing the same one
 * write the same value.
 */
export function createRedisOperationStore(redis: RedisClient): OperationStore {
  return {
    async put(day, entries, expiresAt) {
      if (entries.length === 0) return;
      const key = operationsKey(day);
      const pipeline = redis.pipeline();
      pipeline.hset(key, ...entries.flat());
      pipeline.pexpireat(key, expiresAt);
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    },
    async get(day, fields) {
      const out: (string | null)[] = [];
      for (let i = 0; i < fields.length; i += READ_CHUNK) out.push(...(await redis.hmget(operationsKey(day), ...fields.slice(i, i + READ_CHUNK))));
      return out;
    },
  };
}

/**
 * In process, for a gateway without Redis: the same days, at most `maxEntries` entries in all
 * (default 100,000); past it the oldest days are dropped first.
 */
export function createMemoryOperationStore(options: { maxEntries?: number; now?: () => number } = {}): OperationStore {
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  const days = new Map<number, { entries: Map<string, string>; expiresAt: number }>();
  let total = 0;
  const drop = (day: number) => {
    total -= days.get(day)?.entries.size ?? 0;
    days.delete(day);
  };
  return {
    async put(day, entries, expiresAt) {
      let entry = days.get(day);
      if (!entry) {
        entry = { entries: new Map(), expiresAt };
        days.set(day, entry);
      }
      entry.expiresAt = Math.max(entry.expiresAt, expiresAt);
      for (const [field, value] of entries) {
        if (!entry.entries.has(field)) total += 1;
        entry.entries.set(field, value);
      }
      while (total > maxEntries && days.size > 0) drop(Math.min(...days.keys()));
    },
    async get(day, fields) {
      const entry = days.get(day);
      if (!entry) return fields.map(() => null);
      if (entry.expiresAt <= now()) {
        drop(day);
        return fields.map(() => null);
      }
      return fields.map((f) => entry.entries.get(f) ?? null);
    },
  };
}
