import { readFileSync } from 'node:fs';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';

/**
 * A connection to the shared store: one Redis server or a Redis Cluster. Both speak the same
 * commands; on a cluster every command, script call and pipeline must keep to one hash slot
 * (`stores/slots.ts` splits the multi-key work), and the client follows MOVED/ASK by itself.
 */
export type RedisClient = Redis | Cluster;

/** Where the shared store is: `redis.url` (one server) or `redis.cluster` (seed nodes and options). */
export type RedisTarget = Config['redis'];

export type RedisClusterConfig = NonNullable<Config['redis']['cluster']>;

export interface CreateRedisOptions {
  /** Per-command timeout in ms (ioredis `commandTimeout`); default none. */
  commandTimeoutMs?: number;
  /** ioredis auto-pipelining, default off. */
  autoPipelining?: boolean;
  /** Longest pause between reconnect attempts (ms), default 1000. */
  maxReconnectDelayMs?: number;
}

/** True when the config names a shared store (a server or a cluster). */
export function hasRedis(target: RedisTarget): boolean {
  return Boolean(target.url || target.cluster);
}

/**
 * A shared-store connection, used when `REDIS_URL`/`redis.url` or `REDIS_CLUSTER_NODES`/
 * `redis.cluster` is set. Commands fail fast while disconnected instead of queueing (no offline
 * queue), so a Redis outage shows up as quick errors the callers' fallbacks handle, never as
 * requests piling up behind a dead connection. A string is a URL (tests, tools).
 */
export function createRedis(url: string, logger: Logger, options?: CreateRedisOptions): Redis;
export function createRedis(target: RedisTarget, logger: Logger, options?: CreateRedisOptions): RedisClient;
export function createRedis(target: string | RedisTarget, logger: Logger, options: CreateRedisOptions = {}): RedisClient {
  const resolved: RedisTarget = typeof target === 'string' ? { url: target } : target;
  const maxDelay = options.maxReconnectDelayMs ?? 1000;
  // Reconnect forever, backing off to at most `maxReconnectDelayMs` between tries.
  const retry = (times: number) => Math.min(times * 50, maxDelay);
  const common = {
    // Commands issued in the same event-loop tick go out in one write: under load, many limit
    // checks share a syscall on each side instead of one each.
    ...(options.autoPipelining ? { enableAutoPipelining: true } : {}),
    enableOfflineQueue: false,
  };
  const connection = {
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    ...(options.commandTimeoutMs ? { commandTimeout: options.commandTimeoutMs } : {}),
  } satisfies RedisOptions;

  let client: RedisClient;
  if (resolved.cluster) {
    client = new Cluster(resolved.cluster.nodes.map(parseNode), { ...common, ...clusterOptions(resolved.cluster, connection), clusterRetryStrategy: retry });
  } else if (resolved.url) {
    client = new Redis(resolved.url, { ...common, ...connection, retryStrategy: retry });
  } else {
    throw new Error('createRedis needs redis.url or redis.cluster');
  }
  let down = false;
  const onError = (err: Error) => {
    if (!down) logger.warn({ err: err.message }, 'redis unavailable');
    down = true;
  };
  client.on('error', onError);
  // A cluster reports a single node's connection errors here (a master being failed over).
  if (client instanceof Cluster) client.on('node error', (err: Error, node: string) => logger.debug({ err: err.message, node }, 'redis cluster node error'));
  client.on('ready', () => {
    if (down) logger.info('redis reachable again');
    down = false;
  });
  return client;
}

/**
 * The ioredis Cluster options every connection of the gateway shares. Reads go to masters
 * (`scaleReads: 'master'`): limits, usage and overrides must read what was just written, and a
 * replica lags. The slot map is refreshed every 5 s and on every MOVED, so a failover is followed
 * within a refresh; a command to a node that went away is retried on the new owner every 100 ms
 * (`retryDelayOnFailover`), within the callers' own timeouts.
 */
function clusterOptions(cluster: RedisClusterConfig, connection: RedisOptions): ClusterOptions {
  const tls = cluster.tls ? { ...(cluster.tlsCaFile ? { ca: readFileSync(cluster.tlsCaFile) } : {}) } : undefined;
  return {
    scaleReads: 'master',
    slotsRefreshTimeout: 1000,
    slotsRefreshInterval: 5000,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    redisOptions: {
      ...connection,
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password ? { password: cluster.password } : {}),
      ...(tls ? { tls } : {}),
    },
    // With TLS the node's hostname must reach the TLS handshake (certificate check) unresolved,
    // as ioredis's docs advise for managed clusters (ElastiCache).
    ...(tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
    ...(cluster.natMap ? { natMap: Object.fromEntries(Object.entries(cluster.natMap).map(([from, to]) => [from, parseNode(to)])) } : {}),
  };
}

/** `host:port` (or `[v6]:port`) -> `{ host, port }`, the node shape of ioredis and node-redis alike. */
export function parseNode(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}

/** Resolves when the client is ready for commands (at once if it is; a cluster: slot map loaded), or after `ms`. */
export function whenReady(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once('ready', done);
  });
}

/** Redis URL with any password replaced, for logs and banners. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/** The store, for logs and the start banner: the URL without its password, or the cluster's seed nodes. */
export function describeRedis(target: RedisTarget): string {
  if (target.cluster) return `Redis Cluster via ${target.cluster.nodes.join(', ')}${target.cluster.tls ? ' (TLS)' : ''}`;
  return target.url ? `Redis at ${redactRedisUrl(target.url)}` : 'in memory';
}
