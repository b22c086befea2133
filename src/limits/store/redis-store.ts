import { readFileSync } from 'node:fs';
import type { RedisClient } from '../../stores/redis.js';
import { coalescedWrites } from '../../stores/coalesced-writes.js';
import { sequenceKeyOf } from './call-sequence.js';
import { CALENDAR_KIND, pushCalendarParams } from './calendar.js';
import { placementOf } from './placement.js';
import { createScriptCall, type ScriptArgs } from './script-call.js';
import { pushBurstParams, pushSlidingParams, SLIDING_KIND } from './sliding-window.js';
import type {
  Adjustment,
  Dimension,
  DimensionResult,
  LeaseDecision,
  LeaseRequest,
  LeasingLimitStore,
  LimitDecision,
  ShadowCheck,
  StoreStamp,
} from './types.js';
import { validateAdjustments, validateDimensions, validateLease } from './validate.js';
import { decodeShadow, pushShadowArgs, validateShadow } from './shadow-args.js';

/** The Lua engine; ALGORITHM.md explains it, the header of the file its KEYS/ARGV layout. */
const LIMITER_LUA = readFileSync(new URL('./limiter.lua', import.meta.url), 'utf8');
/** The ioredis custom command name (versioned so that a changed script never shares a name). */
const COMMAND = 'rateLimiterV7';

type Mode = 'consume' | 'peek' | 'adjust' | 'lease';

export interface RedisLimitStoreOptions {
  /** Every check is one EVALSHA on this connection (EVAL when the script is not cached there). */
  redis: RedisClient;
}

/**
 * The limit store for several gateway instances sharing one Redis: each check is one script
 * call, atomic across instances, on the Redis clock (TIME).
 */
export function createRedisLimitStore(options: RedisLimitStoreOptions): LeasingLimitStore {
  return createStore(options.redis, null);
}

/**
 * TEST ONLY: the same store and script, but the script reads the time from `now()` instead of
 * Redis TIME, so tests can check calendar arithmetic and expiry at chosen instants.
 * Production code must use `createRedisLimitStore`.
 */
export function createRedisLimitStoreForTests(options: RedisLimitStoreOptions & { now: () => number }): LeasingLimitStore {
  return createStore(options.redis, options.now);
}

function createStore(redis: RedisClient, now: (() => number) | null): LeasingLimitStore {
  // defineCommand: EVALSHA, with ioredis resending as EVAL on NOSCRIPT (SCRIPT FLUSH, restart);
  // `createScriptCall` sends it the same way, for less CPU per call.
  redis.defineCommand(COMMAND, { lua: LIMITER_LUA });
  const command = createScriptCall(redis, COMMAND);
  // Checks issued in one event-loop turn under load share a write; a lone check goes out at once.
  const send = coalescedWrites(redis);

  /** One script call: `settle` applied first (adjust mode: nothing else), then `dimensions` checked. */
  const run = async (
    mode: Mode,
    settle: readonly Adjustment[],
    dimensions: readonly Dimension[],
    lease?: LeaseRequest,
    shadow?: ShadowCheck,
  ): Promise<number[]> => {
    const clock = now === null ? '' : String(Math.floor(now()));
    // [number of keys, KEYS..., ARGV...] in one array, as the script call takes it; the tag's call
    // counter is the last key (call-sequence.ts).
    const args: ScriptArgs = [String(settle.length + dimensions.length + 1)];
    for (const adjustment of settle) args.push(adjustment.dimension.key);
    for (const dimension of dimensions) args.push(dimension.key);
    if (shadow) {
      for (const dimension of shadow.dimensions) args.push(dimension.key);
      args.push(shadow.recordKey);
      args[0] = String(settle.length + dimensions.length + shadow.dimensions.length + 2);
    }
    args.push(sequenceKeyOf((settle[0]?.dimension ?? dimensions[0])?.key ?? shadow?.recordKey ?? ''));
    args.push(mode, clock, String(settle.length));
    for (const adjustment of settle) pushAdjustment(args, adjustment);
    for (const dimension of dimensions) pushDimension(args, dimension);
    if (lease) {
      args.push(String(lease.tokens), String(lease.lifetimeMs), String(lease.keepPermille), String(lease.sharePermille));
      args.push(String(lease.bytesPerRequest ?? 0));
    }
    if (shadow) pushShadowArgs(args, shadow, pushDimension);
    const reply = await send(() => command(args));
    if (!isNumbers(reply)) throw new Error(`rate limiter script returned an unexpected reply: ${JSON.stringify(reply)}`);
    return reply;
  };

  const check = async (
    mode: 'consume' | 'peek',
    dimensions: readonly Dimension[],
    settle: readonly Adjustment[] = [],
    shadow?: ShadowCheck,
  ): Promise<LimitDecision> => {
    validateDimensions(dimensions);
    if (settle.length > 0) validateAdjustments(settle);
    if (!shadow) return decodeDecision(dimensions, await run(mode, settle, dimensions));
    validateShadow(shadow, dimensions);
    const reply = await run(mode, settle, dimensions, undefined, shadow);
    // The shadow group's results end the reply: taken off before the check's own are read.
    const verdict = decodeShadow(shadow, reply);
    return { ...decodeDecision(dimensions, reply), shadow: verdict };
  };

  return {
    consume: (dimensions, settle, shadow) => check('consume', dimensions, settle, shadow),
    shadowRecord: (recordKey) => redis.hgetall(recordKey),
    peek: (dimensions, settle) => check('peek', dimensions, settle),
    async lease(dimensions, settle, request): Promise<LeaseDecision> {
      validateDimensions(dimensions);
      validateLease(request);
      if (settle.length > 0) validateAdjustments(settle);
      const reply = await run('lease', settle, dimensions, request);
      // The reply of a check, then the tokens granted and where the charge was placed.
      const chargedAt = reply.pop();
      const granted = reply.pop();
      const decision = decodeDecision(dimensions, reply) as LeaseDecision;
      decision.granted = granted!;
      decision.chargedAt = chargedAt!;
      return decision;
    },
    async adjust(adjustments: readonly Adjustment[]): Promise<StoreStamp | null> {
      validateAdjustments(adjustments);
      if (adjustments.length === 0) return null;
      const [now, seq] = await run('adjust', adjustments, []);
      return { now: now!, seq: seq! };
    },
  };
}

/**
 * 8 ARGV per dimension, in the order limiter.lua reads them (pushed: this runs on every check): the
 * kind, limit, amount and check-only flag, then the kind's own parameters (sliding-window.ts,
 * calendar.ts), then the burst zone (none for a calendar dimension).
 */
function pushDimension(args: string[], dimension: Dimension): void {
  const sliding = dimension.kind === 'sliding';
  args.push(sliding ? SLIDING_KIND : CALENDAR_KIND, String(dimension.limit), String(dimension.amount), dimension.checkOnly ? '1' : '0');
  if (sliding) {
    pushSlidingParams(args, dimension);
    pushBurstParams(args, dimension);
  } else {
    pushCalendarParams(args, dimension);
    pushBurstParams(args, NO_BURST);
  }
}

const NO_BURST = {};

/** 6 ARGV per adjustment, in the order limiter.lua reads them: the kind and its parameters, at, delta, placement. */
function pushAdjustment(args: string[], adjustment: Adjustment): void {
  const { dimension, at, delta } = adjustment;
  if (dimension.kind === 'sliding') {
    args.push(SLIDING_KIND);
    pushSlidingParams(args, dimension);
  } else {
    args.push(CALENDAR_KIND);
    pushCalendarParams(args, dimension);
  }
  args.push(String(at), String(delta), placementOf(adjustment) === 'at' ? 'a' : 'n');
}

function decodeDecision(dimensions: readonly Dimension[], reply: number[]): LimitDecision {
  if (reply.length !== 4 + 4 * dimensions.length) {
    throw new Error(`rate limiter script returned ${reply.length} values for ${dimensions.length} dimensions`);
  }
  // Indexed, not sliced: this runs on every check.
  const results: DimensionResult[] = [];
  for (let index = 0, at = 4; index < dimensions.length; index++, at += 4) {
    const { name, limit } = dimensions[index]!;
    const used = reply[at + 1]!;
    results.push({
      name,
      limit,
      used,
      remaining: Math.max(0, limit - used),
      resetAt: reply[at + 2]!,
      retryAfterMs: reply[at + 3]!,
      allowed: reply[at] === 1,
    });
  }
  const now = reply[0]!;
  const heldMs = reply[2]!;
  const seq = reply[3]!;
  // A held request (graduated throttling) was charged where it runs.
  if (heldMs > 0) return { allowed: true, now, seq, heldMs, chargedAt: now + heldMs, results };
  return { allowed: reply[1] === 1, now, seq, results };
}

function isNumbers(reply: unknown): reply is number[] {
  if (!Array.isArray(reply)) return false;
  for (const value of reply) if (typeof value !== 'number') return false;
  return true;
}
