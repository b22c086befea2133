import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';

/**
 * The shared Redis connection, used when `REDIS_URL` (or `redis.url`) is set. Commands fail fast
 * while disconnected instead of queueing (no offline queue), so a Redis outage shows up as quick
 * errors the callers' fallbacks handle, never as requests piling up behind a dead connection.
 */
export function createRedis(
  url: string,
  logger: Logger,
  options: { commandTimeoutMs?: number; autoPipelining?: boolean; /** default 1000 */ maxReconnectDelayMs?: number } = {},
): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 1000;
  const redis = new Redis(url, {
    // Commands issued in the same event-loop tick go out in one write: under load, many limit
    // checks share a syscall on each side instead of one each.
    ...(options.autoPipelining ? { enableAutoPipelining: true } : {}),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
    // Reconnect forever, backing off to at most `maxReconnectDelayMs` between tries.
    retryStrategy: (times) => Math.min(times * 50, maxDelay),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.warn({ err: err.message }, 'redis unavailable');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis reachable again');
    down = false;
  });
  return redis;
}

/** Redis URL with any password replaced, for logs and banners. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}
