import calculateSlot from 'cluster-key-slot';
import { Cluster, type ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis.js';

/** A pipeline's replies, one `[error, value]` per command, in the order they were added. */
export type PipelineReplies = [Error | null, unknown][];

/** The Redis Cluster hash slot of a key (0-16383): CRC16 of its hash tag, or of the key without one. */
export function slotOf(key: string): number {
  return calculateSlot(key);
}

/**
 * Runs one command per item, as pipelines, and returns the replies in the items' order. On one
 * server that is a single pipeline. On a cluster a pipeline must stay on one node, so the items
 * are grouped by the master that owns their key's slot (the client's current slot map; an unknown
 * slot gets a group of its own) and the groups run in parallel: a pipeline that meets MOVED
 * (the map changed meanwhile) is retried by ioredis on the new owner. A group that fails as a
 * whole (its node unreachable) gives every one of its items that error, so callers keep knowing
 * exactly which items were written.
 */
export async function execBySlot<T>(
  redis: RedisClient,
  items: readonly T[],
  keyOf: (item: T) => string,
  add: (pipeline: ChainableCommander, item: T) => void,
): Promise<PipelineReplies> {
  if (items.length === 0) return [];
  if (!(redis instanceof Cluster)) {
    const pipeline = redis.pipeline();
    for (const item of items) add(pipeline, item);
    return (await pipeline.exec()) ?? [];
  }
  const groups = new Map<string, number[]>();
  for (let i = 0; i < items.length; i++) {
    const slot = slotOf(keyOf(items[i]!));
    // The slot's node list (master first, then replicas): what ioredis requires a pipeline to share.
    const owner = redis.slots[slot]?.join(',') ?? `slot:${slot}`;
    const group = groups.get(owner);
    if (group) group.push(i);
    else groups.set(owner, [i]);
  }
  const out: PipelineReplies = new Array(items.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = redis.pipeline();
      for (const index of indexes) add(pipeline, items[index]!);
      let replies: PipelineReplies;
      try {
        replies = (await pipeline.exec()) ?? [];
      } catch (err) {
        replies = indexes.map(() => [err as Error, null]);
      }
      for (const [j, index] of indexes.entries()) out[index] = replies[j] ?? [new Error('no reply'), null];
    }),
  );
  return out;
}
