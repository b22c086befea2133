import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.js';

/** Hash slots of a Redis Cluster. */
const SLOTS = 16384;

/**
 * The shared store answers. One server: INFO cluster (and it is not a cluster node). A cluster: the client has loaded the slot map with
 * every slot owned, and every master it knows reports `cluster_state:ok` in CLUSTER INFO (a
 * cluster that lost a master with no replica to promote, or one mid-failover, reports `fail`).
 * Rejects with the reason; /readyz shows it (a failure degrades the instance, see http/health.ts).
 */
export async function checkRedis(redis: RedisClient): Promise<void> {
  if (!(redis instanceof Cluster)) {
    // INFO answers like PING, and tells a cluster node apart: a single-server client pointed at a
    // cluster node gets MOVED for most keys, so every limit check would fail and fall back.
    const info = await redis.info('cluster').catch((err: Error) => {
      if (/unknown command|NOPERM|no permissions/i.test(err.message)) return redis.ping().then(() => '');
      throw err;
    });
    if (/cluster_enabled:1/.test(info)) throw new Error('REDIS_URL points at a Redis Cluster node: set REDIS_CLUSTER_NODES (redis.cluster.nodes) instead');
    return;
  }
  if (redis.status !== 'ready') throw new Error(`cluster client is ${redis.status}`);
  let owned = 0;
  for (let slot = 0; slot < SLOTS; slot++) if (redis.slots[slot]?.[0]) owned++;
  if (owned < SLOTS) throw new Error(`cluster slot map not loaded: ${owned} of ${SLOTS} slots have a node`);
  const masters = redis.nodes('master');
  if (masters.length === 0) throw new Error('cluster client knows no master');
  await Promise.all(
    masters.map(async (node) => {
      const info = String(await node.cluster('INFO'));
      const state = /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
      if (state !== 'ok') throw new Error(`cluster_state:${state} on ${node.options.host}:${node.options.port}`);
    }),
  );
}
