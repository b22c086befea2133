import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';

const KEY = 'gw:instances';

/**
 * Counts live gateway instances, so that while Redis is down each one enforces its share of a
 * limit. Each instance writes its id with the time into a sorted set every `heartbeatMs` and drops
 * entries older than three heartbeats; the count is read in the same transaction. The first count
 * is taken before the gateway serves (`ready`), so a new instance never starts out believing it
 * is alone; while Redis is unreachable the last count stays in force.
 */
export function createInstanceRegistry(options: { redis: Redis | null; heartbeatMs: number; logger: Logger }) {
  const id = randomUUID();
  let live = 1;
  const { redis } = options;
  if (!redis) return { id, count: () => 1, ready: async () => {}, close: async () => {} };

  async function beat(): Promise<void> {
    const now = Date.now();
    try {
      const results = await redis!
        .multi()
        .zadd(KEY, now, id)
        .zremrangebyscore(KEY, '-inf', now - options.heartbeatMs * 3)
        .zcard(KEY)
        .exec();
      const count = Number(results?.[2]?.[1]);
      if (Number.isFinite(count) && count > 0) live = count;
    } catch (err) {
      options.logger.debug({ err: (err as Error).message }, 'instance heartbeat failed');
    }
  }

  const timer = setInterval(() => void beat(), options.heartbeatMs);
  timer.unref();
  const first = beat();

  return {
    id,
    count: () => live,
    /** Resolves once the first count was read (or failed: Redis is down at start). */
    ready: () => first,
    async close() {
      clearInterval(timer);
      await redis.zrem(KEY, id).catch(() => {});
    },
  };
}
