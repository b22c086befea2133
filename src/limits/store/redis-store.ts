import { readFileSync } from 'node:fs';
import type { RedisClient } from '../../stores/redis.js';
import type { Adjustment, Dimension, DimensionResult, LimitDecision, LimitStore } from './types.js';
import { validateAdjustments, validateDimensions } from './validate.js';

/** The Lua engine; ALGORITHM.md explains it, the header of the file its KEYS/ARGV layout. */
const LIMITER_LUA = readFileSync(new URL('./limiter.lua', import.meta.url), 'utf8');
/** The ioredis custom command name (versioned so that a changed script never shares a name). */
const COMMAND = 'rateLimiterV2';

type Mode = 'consume' | 'peek' | 'adjust';
type LimiterCommand = (numberOfKeys: number, ...keysAndArgs: string[]) => Promise<unknown>;

export interface RedisLimitStoreOptions {
  /** Every check is one EVALSHA on this connection (EVAL when the script is not cached there). */
  redis: RedisClient;
}

/**
 * The limit store for several gateway instances sharing one Redis: each check is one script
 * call, atomic across instances, on the Redis clock (TIME).
 */
export function createRedisLimitStore(options: RedisLimitStoreOptions): LimitStore {
  return createStore(options.redis, null);
}

/**
 * TEST ONLY: the same store and script, but the script reads the time from `now()` instead of
 * Redis TIME, so tests can check calendar arithmetic and expiry at chosen instants.
 * Production code must use `createRedisLimitStore`.
 */
export function createRedisLimitStoreForTests(options: RedisLimitStoreOptions & { now: () => number }): LimitStore {
  return createStore(options.redis, options.now);
}

function createStore(redis: RedisClient, now: (() => number) | null): LimitStore {
  // defineCommand: EVALSHA, with ioredis resending as EVAL on NOSCRIPT (SCRIPT FLUSH, restart).
  redis.defineCommand(COMMAND, { lua: LIMITER_LUA });
  const command = (redis as unknown as Record<string, LimiterCommand>)[COMMAND]!.bind(redis);

  const run = async (mode: Mode, keys: string[], args: string[]): Promise<number[]> => {
    const clock = now === null ? '' : String(Math.floor(now()));
    const reply = await command(keys.length, ...keys, mode, clock, ...args);
    if (!Array.isArray(reply) || !reply.every((value) => typeof value === 'number')) {
      throw new Error(`rate limiter script returned an unexpected reply: ${JSON.stringify(reply)}`);
    }
    return reply as number[];
  };

  const check = async (mode: 'consume' | 'peek', dimensions: readonly Dimension[]): Promise<LimitDecision> => {
    validateDimensions(dimensions);
    const keys = dimensions.map((dimension) => dimension.key);
    const reply = await run(mode, keys, dimensions.flatMap(encodeDimension));
    return decodeDecision(dimensions, reply);
  };

  return {
    consume: (dimensions) => check('consume', dimensions),
    peek: (dimensions) => check('peek', dimensions),
    async adjust(adjustments: readonly Adjustment[]): Promise<void> {
      validateAdjustments(adjustments);
      if (adjustments.length === 0) return;
      const keys = adjustments.map((adjustment) => adjustment.dimension.key);
      await run('adjust', keys, adjustments.flatMap(encodeAdjustment));
    },
  };
}

/** 6 ARGV per dimension, in the order limiter.lua reads them. */
function encodeDimension(dimension: Dimension): string[] {
  const common = [
    dimension.kind === 'sliding' ? 's' : 'c',
    String(dimension.limit),
    String(dimension.amount),
    dimension.checkOnly ? '1' : '0',
  ];
  return dimension.kind === 'sliding'
    ? [...common, String(dimension.windowMs), String(dimension.buckets)]
    : [...common, dimension.period, String(dimension.utcOffsetMinutes)];
}

/** 6 ARGV per adjustment, in the order limiter.lua reads them. */
function encodeAdjustment({ dimension, at, delta, placement }: Adjustment): string[] {
  const place = (placement ?? (delta > 0 ? 'now' : 'at')) === 'at' ? 'a' : 'n';
  const shape =
    dimension.kind === 'sliding'
      ? ['s', String(dimension.windowMs), String(dimension.buckets)]
      : ['c', dimension.period, String(dimension.utcOffsetMinutes)];
  return [...shape, String(at), String(delta), place];
}

function decodeDecision(dimensions: readonly Dimension[], reply: number[]): LimitDecision {
  if (reply.length !== 2 + 4 * dimensions.length) {
    throw new Error(`rate limiter script returned ${reply.length} values for ${dimensions.length} dimensions`);
  }
  const results = dimensions.map((dimension, index): DimensionResult => {
    const [allowed, used, resetAt, retryAfterMs] = reply.slice(2 + 4 * index, 6 + 4 * index) as [number, number, number, number];
    return {
      name: dimension.name,
      limit: dimension.limit,
      used,
      remaining: Math.max(0, dimension.limit - used),
      resetAt,
      retryAfterMs,
      allowed: allowed === 1,
    };
  });
  return { allowed: reply[1] === 1, now: reply[0]!, results };
}
