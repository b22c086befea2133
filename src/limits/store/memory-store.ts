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

/**
 * What Redis keeps at a key: a hash of sub-bucket sums (or one period's count) and, for sliding
 * keys, the time of each sub-bucket's last charge (the `<sum>:<offset>` values of limiter.lua).
 * The script's running total and oldest/newest ids only spare it reading every sub-bucket; they
 * change no decision, so the twin sums its sub-buckets instead.
 */
interface Entry {
  sums: Map<number, number>;
  last: Map<number, number>;
  /** Epoch ms; the key is gone from this instant on (Redis PEXPIRE semantics). */
  expiresAt: number;
}

/** The state of one dimension read at `now`, before the decision. */
interface State {
  dimension: Dimension;
  used: number;
  allowed: boolean;
  /** Counted sub-bucket ids in ascending order (sliding), or the one period id (calendar). */
  ids: number[];
  sums: Map<number, number>;
  last: Map<number, number>;
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
      entry = { sums: new Map(), last: new Map(), expiresAt: Number.POSITIVE_INFINITY };
      entries.set(key, entry);
      for (const oldest of entries.keys()) {
        if (entries.size <= maxKeys) break;
        entries.delete(oldest);
      }
    }
    return entry;
  };
  const deleteIds = (key: string, ids: readonly number[], now: number): void => {
    if (ids.length === 0) return;
    const entry = read(key, now);
    if (entry === undefined) return;
    for (const id of ids) {
      entry.sums.delete(id);
      entry.last.delete(id);
    }
    if (entry.sums.size === 0) entries.delete(key);
  };

  const load = (dimension: Dimension, now: number): State => {
    const entry = read(dimension.key, now);
    const state: State = { dimension, used: 0, allowed: false, ids: [], sums: new Map(), last: new Map(), stale: [], g: 0, b: 0, startsAt: 0, endsAt: 0 };
    if (dimension.kind === 'sliding') {
      state.g = subBucketMs(dimension);
      state.b = Math.floor(now / state.g);
      for (const [id, sum] of entry?.sums ?? []) {
        // A sub-bucket counts while its last charge is inside the window (now - W, now].
        const last = lastChargeOf(entry!, id, state.g);
        if (last <= now - dimension.windowMs) state.stale.push(id);
        else {
          state.ids.push(id);
          state.sums.set(id, sum);
          state.last.set(id, last);
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
      for (const [field, count] of entry?.sums ?? []) {
        if (field === id) state.used = count;
        else state.stale.push(field);
      }
    }
    state.allowed = fits(dimension, state.used);
    return state;
  };

  /** Adds `amount` to sub-bucket (or period) `id`, last charged at `at`. */
  const add = (dimension: Dimension, id: number, amount: number, at: number, now: number, endsAt: number): void => {
    const entry = writable(dimension.key, now);
    entry.sums.set(id, (entry.sums.get(id) ?? 0) + amount);
    if (dimension.kind === 'sliding') {
      const g = subBucketMs(dimension);
      entry.last.set(id, Math.max(entry.last.get(id) ?? 0, at));
      // The key lives until its newest sub-bucket's last charge has left the window.
      entry.expiresAt = Math.max(entry.expiresAt === Number.POSITIVE_INFINITY ? 0 : entry.expiresAt, now + (dimension.buckets + 1) * g);
    } else {
      entry.expiresAt = endsAt + CALENDAR_TTL_SLACK_MS;
    }
  };

  const charge = (state: State, now: number): void => {
    const { dimension } = state;
    const id = dimension.kind === 'sliding' ? state.b : state.ids[0]!;
    add(dimension, id, dimension.amount, now, now, state.endsAt);
    state.used += dimension.amount;
    if (dimension.kind === 'sliding' && !state.sums.has(id)) {
      state.ids.push(id);
      state.ids.sort((x, y) => x - y);
    }
    state.sums.set(id, (state.sums.get(id) ?? 0) + dimension.amount);
    state.last.set(id, now);
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
        deleteIds(state.dimension.key, state.stale, now);
        if (allowed && !state.dimension.checkOnly && state.dimension.amount > 0) charge(state, now);
      }
    }
    return { allowed, now, results: states.map((state) => result(state, now)) };
  };

  const adjustOne = ({ dimension, at, delta, placement }: Adjustment, now: number): void => {
    if (delta === 0) return;
    const state = load(dimension, now);
    deleteIds(dimension.key, state.stale, now);
    const place = placement ?? (delta > 0 ? 'now' : 'at');
    let id: number;
    let when: number;
    if (dimension.kind === 'sliding') {
      // An addition with `at` in the future (clock skew between instance and store) lands in the
      // current sub-bucket; a refund goes where its charge is (limiter.lua does the same).
      when = place === 'now' ? now : delta < 0 ? at : Math.min(at, now);
      id = Math.floor(when / state.g);
      // Nothing to do for a sub-bucket whose span has left the window.
      if (place === 'at' && when <= now - dimension.windowMs) return;
    } else {
      when = now;
      id = state.ids[0]!;
      if (place === 'at' && calendarPeriod(at, dimension.period, dimension.utcOffsetMinutes).id !== String(id)) return;
    }
    if (delta > 0) {
      add(dimension, id, delta, when, now, state.endsAt);
      return;
    }
    const entry = read(dimension.key, now);
    const sum = entry?.sums.get(id);
    if (entry === undefined || sum === undefined) return;
    if (sum + delta <= 0) deleteIds(dimension.key, [id], now);
    else entry.sums.set(id, sum + delta);
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

/** g = ceil(W / N), so that N sub-buckets span at least the window. */
function subBucketMs(dimension: SlidingDimension): number {
  return Math.ceil(dimension.windowMs / dimension.buckets);
}

/** A sub-bucket's last charge; without a record (older data), the end of its span (conservative). */
function lastChargeOf(entry: Entry, id: number, g: number): number {
  return entry.last.get(id) ?? (id + 1) * g - 1;
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
    // A sub-bucket stops counting one window after its last charge: at most W from now.
    const leaves = (id: number) => state.last.get(id)! + dimension.windowMs;
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
