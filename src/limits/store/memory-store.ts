import { calendarPeriod } from './calendar.js';
import type { Adjustment, Dimension, DimensionResult, LimitDecision, LimitStore, SlidingDimension } from './types.js';
import { validateAdjustments, validateDimensions } from './validate.js';

/** Calendar keys live this long past the end of their period (as in limiter.lua). */
const CALENDAR_TTL_SLACK_MS = 1000;

export interface MemoryLimitStoreOptions {
  /** The clock, epoch ms. Default `Date.now`; tests pass a fake one. */
  now?: () => number;
  /** Keys kept at most; the least recently used key is evicted past this. Default 100_000. */
  maxKeys?: number;
}

/** What Redis keeps at a key: a hash of numeric fields (sub-bucket ids or a period id). */
interface Entry {
  fields: Map<number, number>;
  /** Epoch ms; the key is gone from this instant on (Redis PEXPIRE semantics). */
  expiresAt: number;
}

/** The state of one dimension read at `now`, before the decision. */
interface State {
  dimension: Dimension;
  used: number;
  allowed: boolean;
  /** Counted fields in ascending order (sliding), or the one period id (calendar). */
  ids: number[];
  sums: Map<number, number>;
  stale: number[];
  /** sliding */
  g: number;
  b: number;
  /** calendar */
  startsAt: number;
  endsAt: number;
}

/**
 * The limit store in process: the same algorithm and results as the Redis script (limiter.lua),
 * for the one-process default and as the fallback while Redis is down. JavaScript runs each call
 * to completion, so a check is atomic by construction.
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
      entry = { fields: new Map(), expiresAt: Number.POSITIVE_INFINITY };
      entries.set(key, entry);
      for (const oldest of entries.keys()) {
        if (entries.size <= maxKeys) break;
        entries.delete(oldest);
      }
    }
    return entry;
  };
  const deleteFields = (key: string, ids: readonly number[], now: number): void => {
    if (ids.length === 0) return;
    const entry = read(key, now);
    if (entry === undefined) return;
    for (const id of ids) entry.fields.delete(id);
    if (entry.fields.size === 0) entries.delete(key);
  };

  const load = (dimension: Dimension, now: number): State => {
    const fields = read(dimension.key, now)?.fields ?? new Map<number, number>();
    const state: State = { dimension, used: 0, allowed: false, ids: [], sums: new Map(), stale: [], g: 0, b: 0, startsAt: 0, endsAt: 0 };
    if (dimension.kind === 'sliding') {
      // Sub-buckets of g = ceil(W / N) ms: b-N .. b cover [now - W, now] entirely (N * g >= W),
      // so the count is conservative.
      state.g = subBucketMs(dimension);
      state.b = Math.floor(now / state.g);
      const lo = state.b - dimension.buckets;
      for (const [id, sum] of fields) {
        if (id < lo) state.stale.push(id);
        else {
          state.ids.push(id);
          state.sums.set(id, sum);
          state.used += sum;
        }
      }
      state.ids.sort((x, y) => x - y);
    } else {
      const period = calendarPeriod(now, dimension.period, dimension.utcOffsetMinutes);
      const id = Number(period.id);
      state.startsAt = period.startsAt;
      state.endsAt = period.endsAt;
      state.ids = [id];
      for (const [field, count] of fields) {
        if (field === id) state.used = count;
        else state.stale.push(field);
      }
    }
    state.allowed = fits(dimension, state.used);
    return state;
  };

  const charge = (state: State, now: number): void => {
    const { dimension } = state;
    const entry = writable(dimension.key, now);
    const id = dimension.kind === 'sliding' ? state.b : state.ids[0]!;
    entry.fields.set(id, (entry.fields.get(id) ?? 0) + dimension.amount);
    entry.expiresAt =
      dimension.kind === 'sliding' ? now + (dimension.buckets + 1) * state.g : state.endsAt + CALENDAR_TTL_SLACK_MS;
    state.used += dimension.amount;
    if (dimension.kind === 'sliding' && !state.sums.has(id)) {
      state.ids.push(id);
      state.ids.sort((x, y) => x - y);
    }
    state.sums.set(id, (state.sums.get(id) ?? 0) + dimension.amount);
  };

  const check = async (mode: 'consume' | 'peek', dimensions: readonly Dimension[]): Promise<LimitDecision> => {
    validateDimensions(dimensions);
    const now = Math.floor(clock());
    const states = dimensions.map((dimension) => load(dimension, now));
    const allowed = states.every((state) => state.allowed);
    if (mode === 'consume') {
      for (const state of states) {
        deleteFields(state.dimension.key, state.stale, now);
        if (allowed && !state.dimension.checkOnly && state.dimension.amount > 0) charge(state, now);
      }
    }
    return { allowed, now, results: states.map((state) => result(state, now)) };
  };

  return {
    get size() {
      return entries.size;
    },
    consume: (dimensions) => check('consume', dimensions),
    peek: (dimensions) => check('peek', dimensions),
    async adjust(adjustments: readonly Adjustment[]): Promise<void> {
      validateAdjustments(adjustments);
      const now = Math.floor(clock());
      for (const { dimension, at, delta } of adjustments) {
        const g = subBucketMs(dimension);
        const b = Math.floor(now / g);
        const lo = b - dimension.buckets;
        const fields = read(dimension.key, now)?.fields;
        if (fields !== undefined) deleteFields(dimension.key, [...fields.keys()].filter((id) => id < lo), now);
        if (delta > 0) {
          const entry = writable(dimension.key, now);
          entry.fields.set(b, (entry.fields.get(b) ?? 0) + delta);
          entry.expiresAt = now + (dimension.buckets + 1) * g;
        } else if (delta < 0) {
          // A refund goes to the sub-bucket charged at `at`, if it is still in the window.
          const id = Math.floor(at / g);
          const entry = read(dimension.key, now);
          const sum = entry?.fields.get(id);
          if (entry === undefined || sum === undefined || id < lo) continue;
          if (sum + delta <= 0) {
            entry.fields.delete(id);
            if (entry.fields.size === 0) entries.delete(dimension.key);
          } else {
            entry.fields.set(id, sum + delta);
          }
        }
      }
    },
  };
}

/** g = ceil(W / N), so that N sub-buckets span at least the window. */
function subBucketMs(dimension: SlidingDimension): number {
  return Math.ceil(dimension.windowMs / dimension.buckets);
}

function fits(dimension: Dimension, used: number): boolean {
  return dimension.checkOnly ? used < dimension.limit : used + dimension.amount <= dimension.limit;
}

function result(state: State, now: number): DimensionResult {
  const { dimension, used, allowed } = state;
  const neverFits = dimension.checkOnly ? dimension.limit <= 0 : dimension.amount > dimension.limit;
  let resetAt: number;
  let retryAfterMs = 0;
  if (dimension.kind === 'sliding') {
    // A sub-bucket id leaves the window at (id + N + 1) * g.
    const leaves = (id: number) => (id + dimension.buckets + 1) * state.g;
    const oldest = state.ids.find((id) => (state.sums.get(id) ?? 0) > 0);
    resetAt = oldest === undefined ? now : leaves(oldest);
    if (!allowed) {
      retryAfterMs = dimension.windowMs;
      if (!neverFits) {
        let left = used;
        for (const id of state.ids) {
          left -= state.sums.get(id) ?? 0;
          if (fits(dimension, left)) {
            retryAfterMs = leaves(id) - now;
            break;
          }
        }
      }
    }
  } else {
    resetAt = state.endsAt;
    if (!allowed) retryAfterMs = neverFits ? state.endsAt - state.startsAt : state.endsAt - now;
  }
  return { name: dimension.name, limit: dimension.limit, used, remaining: Math.max(0, dimension.limit - used), resetAt, retryAfterMs, allowed };
}
