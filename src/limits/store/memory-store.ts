import { createCallSequence } from './call-sequence.js';
import { calendarApplies, calendarKeyTtlMs, calendarPeriod, calendarRetryAfterMs, type CalendarPeriod } from './calendar.js';
import { holdAt, type HoldCandidate } from './hold.js';
import { placementOf } from './placement.js';
import {
  adjustmentTime,
  charge,
  countAt,
  holdUntil,
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
import { leaseCharge, leaseGrant, type LeaseCandidate } from './lease-grant.js';
import { createShadowRecords, shadowVerdictOf } from './shadow-record.js';
import { validateShadow } from './shadow-args.js';
import type {
  Adjustment,
  CalendarDimension,
  Dimension,
  DimensionResult,
  LeaseDecision,
  LeaseRequest,
  LeasingLimitStore,
  LimitDecision,
  ShadowCheck,
  SlidingDimension,
  StoreStamp,
} from './types.js';
import { validateAdjustments, validateDimensions, validateLease } from './validate.js';
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
type SlidingState = Extract<State, { kind: 'sliding' }>;
type CalendarState = Extract<State, { kind: 'calendar' }>;

const NONE: ReadonlyMap<number, never> = new Map<number, never>();

/**
 * The store's keys, least recently used first (a Map iterates in insertion order: re-inserting on
 * access makes the first key the LRU one), expired as Redis expires them.
 */
class Keyspace {
  readonly entries = new Map<string, Entry>();
  constructor(private readonly maxKeys: number) {}

  read(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.entries.set(key, entry);
    return entry;
  }

  writable(key: string, now: number): Entry {
    let entry = this.read(key, now);
    if (entry === undefined) {
      entry = { subBuckets: new Map(), periods: new Map(), expiresAt: Number.POSITIVE_INFINITY };
      this.entries.set(key, entry);
      for (const oldest of this.entries.keys()) {
        if (this.entries.size <= this.maxKeys) break;
        this.entries.delete(oldest);
      }
    }
    return entry;
  }

  /** A key with nothing left is deleted (as Redis deletes an empty hash). */
  dropIfEmpty(key: string, entry: Entry): void {
    if (entry.subBuckets.size === 0 && entry.periods.size === 0) this.entries.delete(key);
  }
}

/**
 * The limit store in process: the arithmetic of sliding-window.ts, calendar.ts, verdict.ts and
 * hold.ts, so the same decisions as the Redis script (limiter.lua, their mirror), for the
 * one-process default and as the fallback while Redis is down. JavaScript runs each call to
 * completion, so a check is atomic by construction.
 */
export function createMemoryLimitStore(options: MemoryLimitStoreOptions = {}): LeasingLimitStore & { readonly size: number } {
  const clock = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new Error(`maxKeys must be a positive integer: ${maxKeys}`);
  const keys = new Keyspace(maxKeys);

  /** Shadow refusals counted (`ShadowCheck.recordKey`): the fields limiter.lua writes, kept as it keeps them. */
  const records = createShadowRecords();
  /** Each call's number in its hash tag, as limiter.lua's counter key (call-sequence.ts). */
  const sequence = createCallSequence(maxKeys);
  /** The call's first key, as redis-store.ts picks the counter key's tag. */
  const firstKey = (settle: readonly Adjustment[], dimensions: readonly Dimension[], shadow?: ShadowCheck): string =>
    (settle[0]?.dimension ?? dimensions[0])?.key ?? shadow?.recordKey ?? '';

  const check = async (
    mode: 'consume' | 'peek' | 'lease',
    dimensions: readonly Dimension[],
    settle: readonly Adjustment[] = [],
    lease?: LeaseRequest,
    shadow?: ShadowCheck,
  ): Promise<LeaseDecision> => {
    validateDimensions(dimensions);
    if (lease) validateLease(lease);
    if (settle.length > 0) validateAdjustments(settle);
    if (shadow) validateShadow(shadow, dimensions);
    const now = Math.floor(clock());
    const seq = sequence.next(firstKey(settle, dimensions, shadow));
    for (const adjustment of settle) adjustOne(keys, adjustment, now);
    const decision = decideAt(mode, dimensions, now, lease);
    decision.seq = seq;
    // As limiter.lua: a consume's or a lease call's shadow group (a peek decides none).
    if (!shadow || mode === 'peek') return decision;
    // The shadow group: a consume of its own on its own keys, at the same instant (limiter.lua, "Shadow limits").
    const group = shadow.refusedBy === undefined ? decideAt('consume', shadow.dimensions, now) : null;
    const verdict = shadowVerdictOf(shadow, group);
    if (verdict.refusedBy !== null) records.refused(shadow, verdict.refusedBy, now);
    return { ...decision, shadow: verdict };
  };

  /** The decision on `dimensions` at `now` (settles applied): charged when admitted (or held) by a consume. */
  const decideAt = (mode: 'consume' | 'peek' | 'lease', dimensions: readonly Dimension[], now: number, lease?: LeaseRequest): LeaseDecision => {
    const states = dimensions.map((dimension) => load(keys, dimension, now));
    let allowed = states.every((state) => state.allowed);
    if (mode === 'peek') return { allowed, now, chargedAt: now, granted: 0, results: states.map((state) => result(state, now)) };
    // A lease (the script's lease mode): more of the request's amounts reserved, all placed at its end.
    const granted = lease && allowed ? leaseGrant(states.map(leaseCandidate), lease, now) : 0;
    // Graduated throttling: one that does not fit now may be held, charged where it will run.
    const runAt = allowed ? (granted > 0 ? now + lease!.lifetimeMs : now) : holdAt(states.map(holdCandidate(now)), now);
    if (runAt !== null) allowed = true;
    for (const state of states) {
      dropStale(keys, state, now);
      if (!allowed) continue;
      // Held: every dimension admits it (and reports it counted).
      state.allowed = true;
      const each = leaseCharge(state.dimension, lease?.bytesPerRequest ?? 0, granted);
      if (each > 0) chargeAt(keys, state, each * (1 + granted), runAt ?? now, now);
    }
    const results = states.map((state) => result(state, now));
    if (runAt === null || runAt === now || granted > 0) return { allowed, now, chargedAt: runAt ?? now, granted, results };
    return { allowed, now, heldMs: runAt - now, chargedAt: runAt, granted, results };
  };

  return {
    get size() {
      return keys.entries.size;
    },
    consume: async (dimensions, settle, shadow) => decisionOf(await check('consume', dimensions, settle, undefined, shadow)),
    peek: async (dimensions, settle) => decisionOf(await check('peek', dimensions, settle)),
    /** The script's lease mode, for the random-steps test: the gateway leases only from Redis (one process needs no lease). */
    lease: (dimensions, settle, request) => check('lease', dimensions, settle, request),
    shadowRecord: async (recordKey) => records.read(recordKey, Math.floor(clock())),
    async adjust(adjustments: readonly Adjustment[]): Promise<StoreStamp | null> {
      validateAdjustments(adjustments);
      // As the Redis store: an empty list is no call.
      if (adjustments.length === 0) return null;
      const now = Math.floor(clock());
      const seq = sequence.next(firstKey(adjustments, []));
      for (const adjustment of adjustments) adjustOne(keys, adjustment, now);
      return { now, seq };
    },
  };
}

/** A consume's or peek's decision: a lease call's without its lease fields (`chargedAt` only for a hold). */
function decisionOf({ granted: _granted, chargedAt, ...decision }: LeaseDecision): LimitDecision {
  return decision.heldMs === undefined ? decision : { ...decision, chargedAt };
}

/** A state as the lease grant (lease-grant.ts) reads it. */
function leaseCandidate(state: State): LeaseCandidate {
  return state.kind === 'calendar'
    ? { dimension: state.dimension, used: state.used, periodEndsAt: state.period.endsAt }
    : { dimension: state.dimension, used: state.used };
}

function load(keys: Keyspace, dimension: Dimension, now: number): State {
  const entry = keys.read(dimension.key, now);
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
}

/** A state as the hold decision (hold.ts) reads it. */
function holdCandidate(now: number) {
  return (state: State): HoldCandidate => {
    if (state.kind === 'calendar')
      return { dimension: state.dimension, used: state.used, allowed: state.allowed, fitsAt: () => now, periodEndsAt: state.period.endsAt };
    const fitsWith = (left: number) => fits(state.dimension, left);
    return {
      dimension: state.dimension,
      used: state.used,
      allowed: state.allowed,
      fitsAt: () => holdUntil(state.counted, state.used, fitsWith, now, state.dimension.windowMs),
    };
  };
}

/** Deletes what no longer counts: sub-buckets that left the window, earlier periods. */
function dropStale(keys: Keyspace, state: State, now: number): void {
  const ids = state.kind === 'sliding' ? state.expired : state.stale;
  if (ids.length === 0) return;
  const entry = keys.read(state.dimension.key, now);
  if (entry === undefined) return;
  for (const id of ids) {
    if (state.kind === 'sliding') entry.subBuckets.delete(id);
    else entry.periods.delete(id);
  }
  keys.dropIfEmpty(state.dimension.key, entry);
}

/** Adds `amount` to sub-bucket `id`, charged at `at`; the key lives on while it counts. */
function addSliding(keys: Keyspace, state: SlidingState, id: number, amount: number, at: number, now: number): Entry {
  const { dimension, g } = state;
  const entry = keys.writable(dimension.key, now);
  charge(entry.subBuckets, id, amount, at);
  const ttl = keyTtlMs(now, id, g, dimension.windowMs, dimension.buckets);
  entry.expiresAt = Math.max(entry.expiresAt === Number.POSITIVE_INFINITY ? 0 : entry.expiresAt, now + ttl);
  return entry;
}

/** Adds `amount` to the current period's count; the key lives until just past the period. */
function addCalendar(keys: Keyspace, state: CalendarState, amount: number, now: number): void {
  const entry = keys.writable(state.dimension.key, now);
  entry.periods.set(state.id, (entry.periods.get(state.id) ?? 0) + amount);
  entry.expiresAt = now + calendarKeyTtlMs(state.period, now);
}

/**
 * Charges the request's amount at `at` (now, or where a held request runs: the sub-bucket of `at`;
 * a calendar charge goes to now's period, which a hold never leaves); `state` then reads what the
 * result reports.
 */
function chargeAt(keys: Keyspace, state: State, amount: number, at: number, now: number): void {
  if (state.kind === 'calendar') {
    addCalendar(keys, state, amount, now);
    state.used += amount;
    return;
  }
  const entry = addSliding(keys, state, subBucketOf(at, state.g), amount, at, now);
  const after = countAt(entry.subBuckets, now, state.dimension.windowMs, state.g);
  state.counted = after.counted;
  state.used = after.used;
}

function adjustOne(keys: Keyspace, adjustment: Adjustment, now: number): void {
  const { dimension, at, delta } = adjustment;
  if (delta === 0) return;
  const state = load(keys, dimension, now);
  dropStale(keys, state, now);
  const placement = placementOf(adjustment);
  if (state.kind === 'sliding') {
    const when = adjustmentTime(placement, at, delta, now);
    // Nothing to do for a sub-bucket whose span has left the window.
    if (!inWindow(when, now, state.dimension.windowMs)) return;
    const id = subBucketOf(when, state.g);
    if (delta > 0) {
      addSliding(keys, state, id, delta, when, now);
      return;
    }
    const entry = keys.read(dimension.key, now);
    if (entry === undefined) return;
    refund(entry.subBuckets, id, -delta);
    keys.dropIfEmpty(dimension.key, entry);
    return;
  }
  if (!calendarApplies(placement, at, state.period, state.dimension.period, state.dimension.utcOffsetMinutes)) return;
  if (delta > 0) {
    addCalendar(keys, state, delta, now);
    return;
  }
  // A refund, never below 0 (as `refund` of a sub-bucket; limiter.lua's calendar refund).
  const entry = keys.read(dimension.key, now);
  const count = entry?.periods.get(state.id);
  if (entry === undefined || count === undefined) return;
  if (count + delta <= 0) entry.periods.delete(state.id);
  else entry.periods.set(state.id, count + delta);
  keys.dropIfEmpty(dimension.key, entry);
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
