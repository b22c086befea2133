import { randomUUID } from 'node:crypto';
import { whenReady, type RedisClient } from '../stores/redis.js';
import type { Logger } from '../observability/logger.js';

const KEY = 'gw:instances';
/** Longest the first count waits for the connection at start, ms. */
const START_WAIT_MS = 2000;
/** How long a count read from Redis is remembered (see `count`). */
const COUNT_MEMORY_MS = 60_000;

/**
 * Counts live gateway instances, so that while Redis is down each one enforces its share of a
 * limit. Each instance writes its id with the time into a sorted set every `heartbeatMs` and drops
 * entries older than three heartbeats; the count is read in the same transaction. The first count
 * is taken before the gateway serves (`ready`), so a new instance never starts out believing it
 * is alone; while Redis is unreachable the last count stays in force.
 */
export function createInstanceRegistry(options: { redis: RedisClient | null; heartbeatMs: number; logger: Logger }) {
  const id = randomUUID();
  const { redis } = options;
  // The count is the largest read in the last minute: the first heartbeat after Redis returns
  // sees every other instance's entry expired (they could not beat either) and reads 1, exactly
  // when the fallback needs the real fleet size. A fleet that shrinks is believed a minute late
  // (shares smaller than they could be: strict).
  let readings: { at: number; count: number }[] = [];
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
      if (Number.isFinite(count) && count > 0) {
        readings = readings.filter((r) => r.at > now - COUNT_MEMORY_MS);
        readings.push({ at: now, count });
      }
    } catch (err) {
      options.logger.debug({ err: (err as Error).message }, 'instance heartbeat failed');
    }
  }

  const timer = setInterval(() => void beat(), options.heartbeatMs);
  timer.unref();
  // The connection may still be connecting (a cluster loads its slot map first): the first count
  // waits for it, at most as long as the limiter waits for its own at start.
  const first = whenReady(redis, START_WAIT_MS).then(beat);

  return {
    id,
    count: () => readings.reduce((max, r) => Math.max(max, r.count), 1),
    /** Resolves once the first count was read (or failed: Redis is down at start). */
    ready: () => first,
    async close() {
      clearInterval(timer);
      await redis.zrem(KEY, id).catch(() => {});
    },
  };
}
