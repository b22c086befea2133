import { createCacheStore, type CacheStore } from '../cache/cache-store.js';
import { createFieldCache, type FieldCache } from '../cache/field-cache.js';
import { createGuardedStore } from '../cache/guarded-store.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { createRedis, hasRedis, type RedisClient } from '../stores/redis.js';

/** The gateway's connections to its stores; each Redis link is null when no Redis is configured. */
export interface Stores {
  /** Shared by the usage, overrides, billing, audit, record and the other stores. */
  redis: RedisClient | null;
  /** The limiter's own. */
  limitsRedis: RedisClient | null;
  /** The @rateLimit fields'. */
  fieldLimitsRedis: RedisClient | null;
  /** The field cache's store; null when `cache.enabled` is off. */
  cacheStore: CacheStore | null;
  fieldCache: FieldCache;
}

/** The Redis links and the field cache, opened in this order (and closed in the reverse: gateway-close.ts). */
export function openStores(deps: { initial: Config; metrics: Metrics; logger: Logger }): Stores {
  const { initial, metrics, logger } = deps;
  // One server (redis.url) or a Redis Cluster (redis.cluster): every connection below is the same kind.
  const shared = hasRedis(initial.redis);
  const redis = shared ? createRedis(initial.redis, logger) : null;
  // Limit checks get their own connection, so a slow Redis or a big pipeline on the shared
  // connection never holds a request behind it. Its timeouts are the limiter's own, counted from
  // the write (ioredis's commandTimeout fires before a reply waiting in the socket is read). No
  // auto-pipelining: ioredis keeps one auto-pipeline in flight per connection and queues the
  // next behind it, so on a busy gateway a check would wait to be written until the previous
  // batch's reply was read, and that wait would count against the timeout as if Redis were slow.
  // It reconnects within 250 ms so limits are back on Redis soon after it answers.
  const limitsRedis = shared ? createRedis(initial.redis, logger, { maxReconnectDelayMs: 250 }) : null;
  // @rateLimit fields (graphql-rate-limit-directive) have no timeout of their own: a command timeout.
  const fieldLimitsRedis = shared ? createRedis(initial.redis, logger, { commandTimeoutMs: initial.limits.storeTimeoutMs }) : null;
  // The field cache: keyv over its own Redis connection (@keyv/redis), or a bounded in-process LRU.
  const cacheStore = initial.cache.enabled ? createCacheStore({ redis: initial.redis, config: initial.cache, logger }) : null;
  const fieldCache = createFieldCache({
    store: cacheStore ? createGuardedStore({ store: cacheStore, config: initial.cache, logger }) : null,
    logger,
    // Called per cached field at request time.
    onResult: (field, result) => metrics.cacheRequests.inc({ field, result }),
    onRefused: (field, reason) => metrics.cacheRefused.inc({ field, reason }),
  });
  return { redis, limitsRedis, fieldLimitsRedis, cacheStore, fieldCache };
}
