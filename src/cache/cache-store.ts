import KeyvRedis, { createClient } from '@keyv/redis';
import { Keyv, type KeyvStoreAdapter } from 'keyv';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { redactRedisUrl } from '../stores/redis.js';

/** The cache's key-value store: keyv over Redis or over a bounded in-process LRU. */
export interface CacheStore {
  keyv: Keyv;
  /** `redis` or `memory`, for logs. */
  kind: 'redis' | 'memory';
  close(): Promise<void>;
}

/**
 * keyv is the cache interface (get, getMany, set, setMany with a TTL in ms), so the field cache is
 * written once for both stores: `@keyv/redis` when Redis is configured (every instance shares
 * entries and invalidations), a bounded LRU in process otherwise (one process, `npm start`).
 *
 * Values are stored as plain JSON (JSON.stringify / JSON.parse instead of keyv's default
 * serializer, which walks every value in JavaScript to escape strings starting with ":"): the
 * field cache stores only values that survive a JSON round trip. Keys are stored exactly as given
 * (no keyv namespace prefix): they already carry `cache:`.
 *
 * The Redis connection fails fast while disconnected (no offline queue) and reconnects by itself;
 * errors reach the caller (`throwOnErrors`), whose breaker turns them into misses.
 */
export function createCacheStore(options: { redisUrl: string | undefined; config: Config['cache']; logger: Logger }): CacheStore {
  const { redisUrl, config, logger } = options;
  const keyvOptions = { useKeyPrefix: false, serialize: JSON.stringify, deserialize: JSON.parse, throwOnErrors: true } as const;

  if (!redisUrl) {
    const keyv = new Keyv(lruAdapter(config.memoryMaxChars), keyvOptions);
    keyv.namespace = undefined;
    return { keyv, kind: 'memory', close: async () => {} };
  }

  const client = createClient({
    url: redisUrl,
    disableOfflineQueue: true,
    // Reconnect forever, backing off to at most 1 s between tries (as the ioredis connections).
    socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(retries * 50, 1000) },
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) logger.warn({ err: err.message, url: redactRedisUrl(redisUrl) }, 'cache redis unavailable');
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info('cache redis reachable again');
    down = false;
  });
  // Not awaited: the gateway starts (and serves, uncached) while Redis is away.
  client.connect().catch(() => {});
  const keyv = new Keyv(new KeyvRedis(client, { throwOnErrors: true }), keyvOptions);
  keyv.namespace = undefined;
  // keyv re-emits every store error; the breaker and the client's own listener report them.
  keyv.on('error', () => {});

  return {
    keyv,
    kind: 'redis',
    async close() {
      try {
        if (client.isReady) await client.close();
        else client.destroy();
      } catch {
        client.destroy();
      }
    },
  };
}

/**
 * A keyv store over lru-cache, bounded by the characters of its keys and values; entries also
 * expire by their TTL (keyv passes it in ms as the third argument of `set`).
 */
function lruAdapter(maxChars: number): KeyvStoreAdapter {
  const lru = new LRUCache<string, string>({ maxSize: maxChars, sizeCalculation: (value, key) => key.length + value.length });
  const adapter = {
    opts: { dialect: 'lru' },
    namespace: undefined as string | undefined,
    get: async (key: string) => lru.get(key),
    set: async (key: string, value: string, ttl?: number) => {
      lru.set(key, value, ttl ? { ttl } : {});
    },
    delete: async (key: string) => lru.delete(key),
    clear: async () => lru.clear(),
    on: () => adapter,
  };
  return adapter as unknown as KeyvStoreAdapter;
}
