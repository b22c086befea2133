import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../stores/redis.js';
import { execBySlot, type PipelineReplies } from '../stores/slots.js';
import type { HashReader } from './hash-reader.js';
import { createUsageQueries } from './queries.js';
import { planWrite, type HashOp } from './rollup.js';
import { UsageWriteError, type Aggregate, type UsageStore } from './store.js';

/** The write script; its header gives the KEYS/ARGV layout. */
const WRITE_LUA = readFileSync(new URL('./usage-write.lua', import.meta.url), 'utf8');
/** The ioredis custom command name (versioned so that a changed script never shares a name). */
const COMMAND = 'usageWriteV1';
/** Keys read per pipeline, so a large fleet query does not build one huge reply in memory. */
const READ_CHUNK = 5000;

type WriteCommand = (numberOfKeys: number, ...keysAndArgs: string[]) => ChainableCommander;

export interface RedisUsageStoreOptions {
  /**
   * The connection. Use one that fails fast while Redis is down (`createRedis`: no offline
   * queue, a command timeout): a flush then fails at once and its aggregates wait in the meter,
   * instead of the flush hanging while the buffer fills to its bound.
   */
  redis: RedisClient;
  /** Clock (epoch ms) deciding which query ranges are past retention. Default `Date.now`. */
  now?: () => number;
}

/**
 * Usage rollups in Redis. A write is one script call per tenant in the batch plus one for the
 * fleet rollups, each touching the keys of one hash tag only and atomic, so a failure is known
 * per tenant and retried exactly. They go out as ONE pipeline on a single server, and as one
 * pipeline per master on a Redis Cluster (`execBySlot`: a cluster pipeline cannot span nodes);
 * reads are split the same way.
 */
export function createRedisUsageStore(options: RedisUsageStoreOptions): UsageStore {
  const { redis } = options;
  // defineCommand: EVALSHA, with ioredis sending EVAL the first time on a connection.
  redis.defineCommand(COMMAND, { lua: WRITE_LUA });

  /** One command per key, in chunks, one pipeline per node (a cluster pipeline cannot span nodes). */
  async function readEach<T>(keys: readonly string[], command: (pipeline: ChainableCommander, key: string) => void): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < keys.length; i += READ_CHUNK) {
      const replies = await execBySlot(redis, keys.slice(i, i + READ_CHUNK), (key) => key, command);
      for (const [err, value] of replies) {
        if (err) throw err;
        out.push(value as T);
      }
    }
    return out;
  }
  const reader: HashReader = {
    read: (keys) => readEach<Record<string, string>>(keys, (pipeline, key) => pipeline.hgetall(key)),
    readField: (keys, field) => readEach<string | null>(keys, (pipeline, key) => pipeline.hget(key, field)),
    readFields: (keys, fields) => readEach<(string | null)[]>(keys, (pipeline, key) => pipeline.hmget(key, ...fields)),
  };

  return {
    async write(batch) {
      const groups = planWrite(batch);
      if (groups.length === 0) return;
      let results: PipelineReplies;
      try {
        // Every key of a group shares its hash tag: the first key's slot is the group's.
        results = await execBySlot(
          redis,
          groups,
          (group) => group.ops[0]!.key,
          (pipeline, group) => {
            const write = (pipeline as unknown as Record<string, WriteCommand>)[COMMAND]!.bind(pipeline);
            write(group.ops.length, ...group.ops.map((op) => op.key), ...group.ops.flatMap(encodeOp));
          },
        );
      } catch (cause) {
        throw new UsageWriteError(`usage write failed: ${String(cause)}`, batch, { cause });
      }
      const failed = groups.filter((_, i) => results[i]?.[0] !== null || results[i] === undefined);
      if (failed.length === 0) return;
      const firstError = results.find(([err]) => err)?.[0];
      throw new UsageWriteError(
        `usage write failed for ${failed.length} of ${groups.length} groups: ${firstError?.message ?? 'no reply'}`,
        unwrittenOf(failed),
        { cause: firstError },
      );
    },
    ...createUsageQueries(reader, options.now ?? Date.now),
  };
}

function encodeOp(op: HashOp): string[] {
  const args = [String(op.ttlMs ?? -1), String(op.incr.size), String(op.set.size)];
  for (const [field, delta] of op.incr) args.push(field, String(delta));
  for (const [field, value] of op.set) args.push(field, value);
  return args;
}

/** The aggregates (or halves of them) that failed groups were to write. */
function unwrittenOf(failed: readonly { part: 'tenant' | 'fleet'; aggregates: Aggregate[] }[]): Aggregate[] {
  const parts = new Map<Aggregate, Set<'tenant' | 'fleet'>>();
  for (const group of failed) {
    for (const aggregate of group.aggregates) {
      const set = parts.get(aggregate) ?? new Set();
      set.add(group.part);
      parts.set(aggregate, set);
    }
  }
  return [...parts].map(([aggregate, set]) => ({ ...aggregate, scope: set.size === 2 ? aggregate.scope : set.has('tenant') ? 'tenant' : 'fleet' }));
}
