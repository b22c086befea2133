import { readFileSync } from 'node:fs';
import KeyvRedis, { createClient, createCluster } from '@keyv/redis';
import { Keyv, type KeyvOptions, type KeyvStoreAdapter } from 'keyv';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { parseNode, redactRedisUrl, type RedisClusterConfig, type RedisTarget } from '../stores/redis.js';

/** The cache's key-value store: keyv over Redis or over a bounded in-process LRU. */
export interface CacheStore {
  keyv: Keyv;
  /** `redis` or `memory`, for logs. */
  kind: 'redis' | 'memory';
  /** The in-process store's entries and their size in bytes (entryBytes); absent for Redis. */
  stats?: () => { entries: number; bytes: number };
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
export function createCacheStore(options: {
  /** One Redis server (tests); or `redis`, the config's target. */
  redisUrl?: string | undefined;
  /** The shared store as configured: a server (`url`) or a Redis Cluster (`cluster`). */
  redis?: RedisTarget;
  config: Config['cache'];
  logger: Logger;
  /** How often the in-process store sweeps out expired entries, in ms; default 10 s. */
  purgeIntervalMs?: number;
}): CacheStore {
  const { config, logger } = options;
  const redisUrl = options.redisUrl ?? options.redis?.url;
  const cluster = options.redis?.cluster;
  const keyvOptions = { useKeyPrefix: false, serialize: JSON.stringify, deserialize: JSON.parse, throwOnErrors: true } as const;

  if (cluster) return clusterStore(cluster, keyvOptions, logger);
  if (!redisUrl) {
    const memory = lruAdapter(config.memoryMaxBytes, options.purgeIntervalMs ?? PURGE_INTERVAL_MS);
    const keyv = new Keyv(memory.adapter, keyvOptions);
    keyv.namespace = undefined;
    return { keyv, kind: 'memory', stats: memory.stats, close: async () => memory.close() };
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
  const keyv = redisKeyv(client, keyvOptions);

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
 * The cache over a Redis Cluster: node-redis's cluster client (what `@keyv/redis` is built on),
 * which follows MOVED/ASK and re-reads the topology after a failover; `@keyv/redis` groups
 * `getMany`/`setMany` by slot. Same fail-fast stance as one server: no offline queue, a 1 s connect
 * timeout, reconnects backing off to 1 s. If no seed node answers at start the gateway serves
 * uncached and connecting is retried every second.
 */
function clusterStore(cluster: RedisClusterConfig, keyvOptions: KeyvOptions, logger: Logger): CacheStore {
  const client = createCluster({
    rootNodes: cluster.nodes.map((node) => ({ socket: parseNode(node) })),
    defaults: {
      disableOfflineQueue: true,
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password ? { password: cluster.password } : {}),
      socket: {
        connectTimeout: 1000,
        reconnectStrategy: (retries: number) => Math.min(retries * 50, 1000),
        ...(cluster.tls ? { tls: true as const, ...(cluster.tlsCaFile ? { ca: readFileSync(cluster.tlsCaFile) } : {}) } : {}),
      },
    },
    // Masters only, as the ioredis connections: an invalidation must be seen by the next read.
    useReplicas: false,
    ...(cluster.natMap ? { nodeAddressMap: Object.fromEntries(Object.entries(cluster.natMap).map(([from, to]) => [from, parseNode(to)])) } : {}),
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) logger.warn({ err: err.message, nodes: cluster.nodes }, 'cache redis cluster unavailable');
    down = true;
  });
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  // Not awaited: the gateway starts (and serves, uncached) while the cluster is away.
  const connect = (): void => {
    client.connect().then(
      () => {
        if (down) logger.info('cache redis cluster reachable again');
        down = false;
      },
      (err: Error) => {
        if (!down) logger.warn({ err: err.message, nodes: cluster.nodes }, 'cache redis cluster unavailable');
        down = true;
        if (!closed) retry = setTimeout(connect, 1000);
      },
    );
  };
  connect();
  const keyv = redisKeyv(client, keyvOptions);
  return {
    keyv,
    kind: 'redis',
    async close() {
      closed = true;
      clearTimeout(retry);
      try {
        if (client.isOpen) await client.close();
        else client.destroy();
      } catch {
        client.destroy();
      }
    },
  };
}

/**
 * What one entry costs the V8 heap beyond its two strings, in bytes: the LRU's map slot and list
 * slots (key, value, next, prev, size, TTL, start, grown by doubling) and the Map's table.
 * Calibrated with test/cache/memory-bound.test.ts on Node 20 x64 (heap within 5% of the bound for
 * small, mixed and large entries).
 */
export const ENTRY_OVERHEAD_BYTES = 160;

/** Any character outside Latin-1: V8 then stores the whole string with two bytes per character. */
const TWO_BYTE = /[\u0100-\uffff]/;

/** V8's heap size of a flat string: a 16-byte header, then 1 or 2 bytes per character, 8-byte aligned. */
export function stringBytes(text: string): number {
  const body = TWO_BYTE.test(text) ? 2 * text.length : text.length;
  return 16 + Math.ceil(body / 8) * 8;
}

/** Size of one entry as the heap holds it: key, value and the per-entry overhead, in bytes. */
export function entryBytes(key: string, value: string): number {
  return stringBytes(key) + stringBytes(value) + ENTRY_OVERHEAD_BYTES;
}

/** How often expired entries are swept out, in ms (they are also dropped when read): 10 s. */
const PURGE_INTERVAL_MS = 10_000;

/**
 * A keyv store over lru-cache, bounded by the heap its entries take (`entryBytes`, so the bound
 * holds for non-Latin-1 text, short entries and long keys alike), and by their TTL (keyv passes it
 * in ms as the third argument of `set`). Expired entries are swept every 10 s, so memory held by
 * values nobody reads again is given back without waiting for eviction.
 */
/** keyv over a node-redis client (one server or a cluster): keys as given, no namespace. */
function redisKeyv(client: ConstructorParameters<typeof KeyvRedis>[0], keyvOptions: KeyvOptions): Keyv {
  const keyv = new Keyv(new KeyvRedis(client, { throwOnErrors: true }), keyvOptions);
  keyv.namespace = undefined;
  // keyv re-emits every store error; the breaker and the client's own listener report them.
  keyv.on('error', () => {});
  return keyv;
}

function lruAdapter(maxBytes: number, purgeIntervalMs: number): { adapter: KeyvStoreAdapter; close(): void; stats(): { entries: number; bytes: number } } {
  const lru = new LRUCache<string, string>({ maxSize: maxBytes, sizeCalculation: (value, key) => entryBytes(key, value) });
  const sweeper = setInterval(() => lru.purgeStale(), purgeIntervalMs);
  sweeper.unref();
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
  return {
    adapter: adapter as unknown as KeyvStoreAdapter,
    close: () => clearInterval(sweeper),
    stats: () => ({ entries: lru.size, bytes: lru.calculatedSize }),
  };
}
