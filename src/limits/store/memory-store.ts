import { calendarApplies, calendarKeyTtlMs, calendarPeriod, calendarRetryAfterMs, type CalendarPeriod } from './calendar.js';
import { placementOf } from './placement.js';
import {
  adjustmentTime,
  charge,
  countAt,
  inWindow,
  keyTtlMs,
  refund,
  slidingResetAt,
  slidingRetryAfterMs,
  subBucketMs,
  subBucketOf,
  type CountedSubBucket,
  type SubBucket,
} from './sliding-window.js';
import type { Adjustment, CalendarDimension, Dimension, DimensionResult, LimitDecision, LimitStore, SlidingDimension } from './types.js';
import { validateAdjustments, validateDimensions } from './validate.js';
import { fits, neverFits } from './verdict.js';

export interface MemoryLimitStoreOptions {
  /** The clock, epoch ms. Default `Date.now`; tests pass a fake one. */
  now?: () => number;
  /** Keys kept at most; the least recently used key is evicted past this. Default 100_000. */
  maxKeys?: number;
}

/**
 * What Redis keeps at a key: a hash of sub-buckets with their sums and last charges (the
 * `<sum>:<offset>` values of limiter.lua), or one period's count. The script's running total and
 * oldest/newest ids only spare it reading every sub-bucket; they change no decision, so the memory
 * store counts its sub-buckets instead (`countAt`).
 */
interface Entry {
  /** Sliding keys: sub-bucket id → its sum and last charge. */
  subBuckets: Map<number, SubBucket>;
  /** Calendar keys: period id (`YYYYMMDD`, `YYYYMM`) → its count. */
  periods: Map<number, number>;
  /** Epoch ms; the key is gone from this instant on (Redis PEXPIRE semantics). */
  expiresAt: number;
}

/** One dimension read at `now`, before the decision (and after its charge, for the result). */
type State =
  | {
      kind: 'sliding';
      dimension: SlidingDimension;
      g: number;
      used: number;
      allowed: boolean;
      /** Oldest first. */
      counted: CountedSubBucket[];
      /** Sub-buckets that left the window, deleted by a consume. */
      expired: number[];
    }
  | {
      kind: 'calendar';
      dimension: CalendarDimension;
      period: CalendarPeriod;
      id: number;
      used: number;
      allowed: boolean;
      /** Earlier periods' counts, deleted by a consume. */
      stale: number[];
    };

const NONE: ReadonlyMap<number, never> = new Map<number, never>();

/**
 * The limit store in process: the arithmetic of sliding-window.ts, calendar.ts and verdict.ts, so
 * the same decisions as the Redis script (limiter.lua, their mirror), for the one-process default
 * and as the fallback while Redis is down. JavaScript runs each call to completion, so a check is
 * atomic by construction.
 */
export function createMemoryLimitStore(options: MemoryLimitStoreOptions = {}): LimitStore & { readonly size: number } {
  const clock = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new Error(`maxKeys must be a positive integer: ${maxKeys}`);
  // A Map iterates in insertion order: re-inserting on access makes the first key the LRU one.
  const entries = new Map<string, Entry>();

  const read = (key: string, now: number): Entry | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    entries.set(key, entry);
    return entry;
  };
  const writable = (key: string, now: number): Entry => {
    let entry = read(key, now);
    if (entry === undefined) {
      entry = { subBuckets: new Map(), periods: new Map(), expiresAt: Number.POSITIVE_INFINITY };
      entries.set(key, entry);
      for (const oldest of entries.keys()) {
        if (entries.size <= maxKeys) break;
        entries.delete(oldest);
      }
    }
    return entry;
  };
  /** A key with nothing left is deleted (as Redis deletes an empty hash). */
  const dropIfEmpty = (key: string, entry: Entry): void => {
    if (entry.subBuckets.size === 0 && entry.periods.size === 0) entries.delete(key);
  };

  const load = (dimension: Dimension, now: number): State => {
    const entry = read(dimension.key, now);
    if (dimension.kind === 'sliding') {
      const g = subBucketMs(dimension.windowMs, dimension.buckets);
      const { counted, used, expired } = countAt(entry?.subBuckets ?? NONE, now, dimension.windowMs, g);
      return { kind: 'sliding', dimension, g, used, allowed: fits(dimension, used), counted, expired };
    }
    const period = calendarPeriod(now, dimension.period, dimension.utcOffsetMinutes);
    const id = Number(period.id);
    let used = 0;
    const stale: number[] = [];
    for (const [field, count] of entry?.periods ?? NONE) {
      if (field === id) used = count;
      else stale.push(field);
    }
    return { kind: 'calendar', dimension, period, id, used, allowed: fits(dimension, used), stale };
  };

  /** Deletes what no longer counts: sub-buckets that left the window, earlier periods. */
  const dropStale = (state: State, now: number): void => {
    const ids = state.kind === 'sliding' ? state.expired : state.stale;
    if (ids.length === 0) return;
    const entry = read(state.dimension.key, now);
    if (entry === undefined) return;
    for (const id of ids) {
      if (state.kind === 'sliding') entry.subBuckets.delete(id);
      else entry.periods.delete(id);
    }
    dropIfEmpty(state.dimension.key, entry);
  };

  /** Adds `amount` to sub-bucket `id`, charged at `at`; the key lives on while it counts. */
  const addSliding = (state: Extract<State, { kind: 'sliding' }>, id: number, amount: number, at: number, now: number): Entry => {
    const { dimension, g } = state;
    const entry = writable(dimension.key, now);
    charge(entry.subBuckets, id, amount, at);
    const ttl = keyTtlMs(now, id, g, dimension.windowMs, dimension.buckets);
    entry.expiresAt = Math.max(entry.expiresAt === Number.POSITIVE_INFINITY ? 0 : entry.expiresAt, now + ttl);
    return entry;
  };

  /** Adds `amount` to the current period's count; the key lives until just past the period. */
  const addCalendar = (state: Extract<State, { kind: 'calendar' }>, amount: number, now: number): void => {
    const entry = writable(state.dimension.key, now);
    entry.periods.set(state.id, (entry.periods.get(state.id) ?? 0) + amount);
    entry.expiresAt = now + calendarKeyTtlMs(state.period, now);
  };

  /** Charges the request's amount at `now`; `state` then reads what the result reports. */
  const chargeNow = (state: State, now: number): void => {
    const { amount } = state.dimension;
    if (state.kind === 'calendar') {
      addCalendar(state, amount, now);
      state.used += amount;
      return;
    }
    const entry = addSliding(state, subBucketOf(now, state.g), amount, now, now);
    const after = countAt(entry.subBuckets, now, state.dimension.windowMs, state.g);
    state.counted = after.counted;
    state.used = after.used;
  };

  const check = async (mode: 'consume' | 'peek', dimensions: readonly Dimension[], settle: readonly Adjustment[] = []): Promise<LimitDecision> => {
    validateDimensions(dimensions);
    if (settle.length > 0) validateAdjustments(settle);
    const now = Math.floor(clock());
    for (const adjustment of settle) adjustOne(adjustment, now);
    const states = dimensions.map((dimension) => load(dimension, now));
    const allowed = states.every((state) => state.allowed);
    if (mode === 'consume') {
      for (const state of states) {
        dropStale(state, now);
        if (allowed && !state.dimension.checkOnly && state.dimension.amount > 0) chargeNow(state, now);
      }
    }
    return { allowed, now, results: states.map((state) => result(state, now)) };
  };

  const adjustOne = (adjustment: Adjustment, now: number): void => {
    const { dimension, at, delta } = adjustment;
    if (delta === 0) return;
    const state = load(dimension, now);
    dropStale(state, now);
    const placement = placementOf(adjustment);
    if (state.kind === 'sliding') {
      const when = adjustmentTime(placement, at, delta, now);
      // Nothing to do for a sub-bucket whose span has left the window.
      if (!inWindow(when, now, state.dimension.windowMs)) return;
      const id = subBucketOf(when, state.g);
      if (delta > 0) {
        addSliding(state, id, delta, when, now);
        return;
      }
      const entry = read(dimension.key, now);
      if (entry === undefined) return;
      refund(entry.subBuckets, id, -delta);
      dropIfEmpty(dimension.key, entry);
      return;
    }
    if (!calendarApplies(placement, at, state.period, state.dimension.period, state.dimension.utcOffsetMinutes)) return;
    if (delta > 0) {
      addCalendar(state, delta, now);
      return;
    }
    // A refund, never below 0 (as `refund` of a sub-bucket; limiter.lua's calendar refund).
    const entry = read(dimension.key, now);
    const count = entry?.periods.get(state.id);
    if (entry === undefined || count === undefined) return;
    if (count + delta <= 0) entry.periods.delete(state.id);
    else entry.periods.set(state.id, count + delta);
    dropIfEmpty(dimension.key, entry);
  };

  return {
    get size() {
      return entries.size;
    },
    consume: (dimensions, settle) => check('consume', dimensions, settle),
    peek: (dimensions, settle) => check('peek', dimensions, settle),
    async adjust(adjustments: readonly Adjustment[]): Promise<void> {
      validateAdjustments(adjustments);
      const now = Math.floor(clock());
      for (const adjustment of adjustments) adjustOne(adjustment, now);
    },
  };
}

function result(state: State, now: number): DimensionResult {
  const { dimension, used, allowed } = state;
  let resetAt: number;
  let retryAfterMs = 0;
  if (state.kind === 'sliding') {
    const { windowMs } = state.dimension;
    resetAt = slidingResetAt(state.counted, now, windowMs);
    if (!allowed) {
      const fitsWith = (left: number) => fits(dimension, left);
      retryAfterMs = slidingRetryAfterMs(state.counted, used, fitsWith, neverFits(dimension), now, windowMs);
    }
  } else {
    resetAt = state.period.endsAt;
    if (!allowed) retryAfterMs = calendarRetryAfterMs(state.period, now, neverFits(dimension));
  }
  return { name: dimension.name, limit: dimension.limit, used, remaining: Math.max(0, dimension.limit - used), resetAt, retryAfterMs, allowed };
}
