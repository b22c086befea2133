import type { Logger } from '../observability/logger.js';
import type { RedisClient } from './redis.js';

/**
 * A Redis hash read into a local snapshot every `pollMs` (one HGETALL, off the request path):
 * readers get the snapshot with no I/O, a change made on any instance shows everywhere within
 * the interval, and the instance that made it sees it at once (`remember`). While Redis is
 * unreachable the last snapshot stays in force.
 */
export function createPolledHash<T>(options: {
  redis: RedisClient;
  key: string;
  pollMs: number;
  logger: Logger;
  /** Null: the entry is unreadable and skipped (logged once per refresh). */
  parse: (json: string) => T | null;
  what: string;
}) {
  const { redis, key, logger } = options;
  let snapshot = new Map<string, T>();

  async function refresh(): Promise<void> {
    try {
      const raw = await redis.hgetall(key);
      const next = new Map<string, T>();
      for (const [field, json] of Object.entries(raw)) {
        const parsed = options.parse(json);
        if (parsed) next.set(field, parsed);
        else logger.warn({ field }, `ignoring an unreadable ${options.what}`);
      }
      snapshot = next;
    } catch (err) {
      logger.debug({ err: (err as Error).message }, `could not refresh ${options.what}; keeping the last snapshot`);
    }
  }

  const timer = setInterval(() => void refresh(), options.pollMs);
  timer.unref();
  const ready = refresh();

  return {
    ready: () => ready,
    refresh,
    get: (field: string) => snapshot.get(field),
    values: () => [...snapshot.values()],
    /** This instance's own write, visible here before the next poll. */
    remember(field: string, value: T) {
      snapshot = new Map(snapshot).set(field, value);
    },
    close: () => clearInterval(timer),
  };
}
