/**
 * The sliding-window arithmetic, defined once (ALGORITHM.md, "Sliding windows", says why each
 * rule holds). The memory store runs it, the fallback ledger and the Redis store's arguments use
 * it, and limiter.lua, which cannot import TypeScript, is its one mirror: each function here names
 * its twin there ("Lua: ...") and the twin names it back. Change both together;
 * test/limits/store/random-steps.test.ts runs the memory store and the script on the same random
 * steps and fails on the first decision where they disagree.
 *
 * All times are epoch ms on the store clock; W is the window, N the sub-bucket count (1-1000), g
 * the sub-bucket width.
 */

/** One sub-bucket: the amount charged in it, and the time of its last charge (epoch ms). */
export interface SubBucket {
  sum: number;
  last: number;
}

/** A sub-bucket that counts, with its id: what a decision reads. */
export interface CountedSubBucket extends SubBucket {
  id: number;
}

/** A sliding dimension's kind in the script's arguments. Lua: `kind == 's'`. */
export const SLIDING_KIND = 's';

/**
 * A sliding dimension's parameters, in the order limiter.lua reads them after the kind (consume and
 * peek: ARGV[base + 5, 6]; adjustments: ARGV[base + 2, 3]): W, then N. Lua: the header's layout.
 */
export function pushSlidingParams(args: string[], dimension: { windowMs: number; buckets: number }): void {
  args.push(String(dimension.windowMs), String(dimension.buckets));
}

/**
 * A dimension's burst zone in the script's arguments (consume, peek and lease: ARGV[base + 7, 8],
 * after the kind's own parameters): the burst amount and maxDelayMs, '0' '0' for none (a calendar
 * dimension has none). Lua: the header's layout, read as `d.burst`, `d.max_delay`.
 */
export function pushBurstParams(args: string[], dimension: { burst?: { amount: number; maxDelayMs: number } }): void {
  const { burst } = dimension;
  if (burst === undefined) args.push('0', '0');
  else args.push(String(burst.amount), String(burst.maxDelayMs));
}

/** g = ⌈W / N⌉ ms, so that N sub-buckets span at least the window. Lua: `sub_bucket_ms`. */
export function subBucketMs(windowMs: number, buckets: number): number {
  return Math.ceil(windowMs / buckets);
}

/**
 * The sub-bucket `t` falls in: ⌊t / g⌋ (epoch ms are far below 2^53, so the double quotient
 * floors exactly). Lua: `sub_bucket_of`.
 */
export function subBucketOf(t: number, g: number): number {
  return Math.floor(t / g);
}

/**
 * Window membership: the window at `now` is the half-open interval (now − W, now], so a charge
 * exactly W before `now` no longer counts (a limit of 100 per 60 s admits at 12:00:00.000 and again
 * at 12:01:00.000). A sub-bucket counts while its last charge does. Lua: `in_window`.
 */
export function inWindow(t: number, now: number, windowMs: number): boolean {
  return t > now - windowMs;
}

/** The sub-bucket holding now − W: every one below it has left the window. Lua: `window_edge`. */
export function windowEdge(now: number, windowMs: number, g: number): number {
  return subBucketOf(now - windowMs, g);
}

/**
 * Whether sub-bucket `id`, last charged at `last`, has left the window: the rule of `inWindow` on
 * its last charge, decided by the id alone except at the edge (a last charge lies in its own
 * sub-bucket's span, so one below the edge has left and one above it has not). Lua: `expired`.
 */
export function expired(id: number, last: number, edge: number, now: number, windowMs: number): boolean {
  return id < edge || (id === edge && !inWindow(last, now, windowMs));
}

/**
 * A sub-bucket's last charge after a charge at `at`: it never moves back (a lease may have charged
 * it ahead of now; a replay may be older than its last charge). Lua: `later_charge`.
 */
export function laterCharge(previous: number | undefined, at: number): number {
  return previous === undefined || at > previous ? at : previous;
}

/** Adds `amount` to sub-bucket `id`, charged at `at`. Lua: `write_bucket` with `later_charge`. */
export function charge(subBuckets: Map<number, SubBucket>, id: number, amount: number, at: number): void {
  const subBucket = subBuckets.get(id);
  if (subBucket === undefined) subBuckets.set(id, { sum: amount, last: at });
  else {
    subBucket.sum += amount;
    subBucket.last = laterCharge(subBucket.last, at);
  }
}

/**
 * Takes `amount` back from sub-bucket `id`, never below 0: one refunded to 0 is deleted, one not
 * stored is left alone; the last charge stays. Lua: the refund branch of the adjustments
 * (`remove_bucket`, or `write_bucket` with the sub-bucket's own last charge).
 */
export function refund(subBuckets: Map<number, SubBucket>, id: number, amount: number): void {
  const subBucket = subBuckets.get(id);
  if (subBucket === undefined) return;
  if (subBucket.sum - amount <= 0) subBuckets.delete(id);
  else subBucket.sum -= amount;
}

/**
 * The time whose sub-bucket an adjustment of `delta` changes. `now` placement: the current one.
 * `at` placement: the sub-bucket of `at`, except an addition with `at` in the future (clock skew
 * between instance and store) counts from now; a refund goes where its charge is, even ahead of now
 * (a lease's). The adjustment applies only if that time is `inWindow`. Lua: `adjustment_time`.
 */
export function adjustmentTime(placement: 'at' | 'now', at: number, delta: number, now: number): number {
  return placement === 'at' && (at < now || delta < 0) ? at : now;
}

/**
 * What counts at `now`: the sub-bucket ids that have `expired` (to delete), and every other one,
 * oldest first, with their sum: `used`. Lua: `load_sliding` (it evicts the expired ones and keeps
 * their sum in the field 't', so `used` = 't').
 */
export function countAt(
  subBuckets: ReadonlyMap<number, SubBucket>,
  now: number,
  windowMs: number,
  g: number,
): { counted: CountedSubBucket[]; used: number; expired: number[] } {
  const edge = windowEdge(now, windowMs, g);
  const counted: CountedSubBucket[] = [];
  const gone: number[] = [];
  let used = 0;
  for (const [id, { sum, last }] of subBuckets) {
    if (expired(id, last, edge, now, windowMs)) gone.push(id);
    else {
      counted.push({ id, sum, last });
      used += sum;
    }
  }
  counted.sort((x, y) => x.id - y.id);
  return { counted, used, expired: gone };
}

/**
 * How long a key lives after a charge (ms from now): its newest sub-bucket counts until at most
 * (newest + 1) · g + W; (N + 1) · g covers the current sub-bucket and a key charged only in it.
 * Lua: `keep_alive`.
 */
export function keyTtlMs(now: number, newest: number, g: number, windowMs: number, buckets: number): number {
  return Math.max((buckets + 1) * g, (newest + 1) * g + windowMs - now);
}

/**
 * When `used` next decreases: one window after the last charge of the oldest counted sub-bucket
 * (never more than W from now), or now when nothing counts. Lua: `sliding_reset_at`.
 */
export function slidingResetAt(counted: readonly CountedSubBucket[], now: number, windowMs: number): number {
  const oldest = counted[0];
  return oldest === undefined ? now : oldest.last + windowMs;
}

/**
 * A refused dimension's wait: the counted sub-buckets leave the window oldest first, until what is
 * left `fitsWith` the request; W if it never can. Lua: `sliding_retry_after`.
 */
export function slidingRetryAfterMs(
  counted: readonly CountedSubBucket[],
  used: number,
  fitsWith: (used: number) => boolean,
  neverFits: boolean,
  now: number,
  windowMs: number,
): number {
  if (neverFits) return windowMs;
  let left = used;
  for (const { sum, last } of counted) {
    left -= sum;
    if (fitsWith(left)) return last + windowMs - now;
  }
  return windowMs;
}

/**
 * When a request held in a burst zone runs: the earliest time its amount fits, counting every stored
 * sub-bucket, those charged ahead of now by earlier holds (or leases) included: they leave the window
 * last, so a hold queues behind them. That is now + its retry-after; always after now (a counted
 * sub-bucket's last charge is in the window). Lua: `hold_until`.
 */
export function holdUntil(counted: readonly CountedSubBucket[], used: number, fitsWith: (used: number) => boolean, now: number, windowMs: number): number {
  return now + slidingRetryAfterMs(counted, used, fitsWith, false, now, windowMs);
}
