import { UsageQueryError, type Granularity } from './store.js';

export const GRANULARITIES: readonly Granularity[] = ['minute', 'hour', 'day', 'month'];

/** The most buckets one query may span (history points, or the range of a breakdown/fleet view). */
export const MAX_BUCKETS = 1000;

const FIXED_MS: Record<Exclude<Granularity, 'month'>, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export function assertGranularity(granularity: unknown): asserts granularity is Granularity {
  if (!GRANULARITIES.includes(granularity as Granularity)) {
    throw new UsageQueryError(`granularity must be one of ${GRANULARITIES.join(', ')}: ${JSON.stringify(granularity)}`);
  }
}

/** Start (epoch ms, UTC) of the bucket that contains `t`. */
export function bucketStart(granularity: Granularity, t: number): number {
  if (granularity === 'month') {
    const date = new Date(t);
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  }
  const size = FIXED_MS[granularity];
  return Math.floor(t / size) * size;
}

/** Start of the bucket after the one starting at `start`. */
export function nextBucket(granularity: Granularity, start: number): number {
  if (granularity === 'month') {
    const date = new Date(start);
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  }
  return start + FIXED_MS[granularity];
}

/** How many buckets [from, to] touches (both ends included), without enumerating them. */
export function bucketCount(granularity: Granularity, from: number, to: number): number {
  const first = bucketStart(granularity, from);
  const last = bucketStart(granularity, to);
  if (granularity === 'month') {
    const a = new Date(first);
    const b = new Date(last);
    return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth()) + 1;
  }
  return (last - first) / FIXED_MS[granularity] + 1;
}

/**
 * The bucket starts of every bucket [from, to] touches, oldest first. Refuses ranges over
 * MAX_BUCKETS so that one query reads a bounded number of keys.
 */
export function bucketStarts(granularity: Granularity, from: number, to: number): number[] {
  assertRange(granularity, from, to);
  const starts: number[] = [];
  for (let t = bucketStart(granularity, from); t <= to; t = nextBucket(granularity, t)) starts.push(t);
  return starts;
}

export function assertRange(granularity: Granularity, from: number, to: number): void {
  assertGranularity(granularity);
  if (!Number.isFinite(from) || !Number.isFinite(to)) throw new UsageQueryError(`usage range must be finite epoch ms: from ${from}, to ${to}`);
  if (from > to) throw new UsageQueryError(`usage range must have from <= to: from ${iso(from)}, to ${iso(to)}`);
  const count = bucketCount(granularity, from, to);
  if (count > MAX_BUCKETS) {
    throw new UsageQueryError(`usage range spans ${count} ${granularity} buckets; the limit is ${MAX_BUCKETS}: narrow the range or use a coarser granularity`);
  }
}

/**
 * The fewest buckets, of `granularity` or coarser, that exactly tile the `granularity` buckets
 * [from, to] touches: totals over a range read whole hours, days and months where they fit
 * (a 1000-minute range reads about 60 keys per series, not 1000).
 */
export function cover(granularity: Granularity, from: number, to: number): { granularity: Granularity; start: number }[] {
  assertRange(granularity, from, to);
  const candidates = GRANULARITIES.slice(GRANULARITIES.indexOf(granularity)).reverse(); // coarsest first
  const end = nextBucket(granularity, bucketStart(granularity, to));
  const parts: { granularity: Granularity; start: number }[] = [];
  let t = bucketStart(granularity, from);
  while (t < end) {
    const g = candidates.find((c) => bucketStart(c, t) === t && nextBucket(c, t) <= end) ?? granularity;
    parts.push({ granularity: g, start: t });
    t = nextBucket(g, t);
  }
  return parts;
}

/** The bucket id used in key names: `202611221530` (minute), `2026112215`, `20261122`, `202611`. */
export function bucketId(granularity: Granularity, t: number): string {
  const digits = new Date(bucketStart(granularity, t)).toISOString().replace(/[^0-9]/g, ''); // YYYYMMDDHHmmssSSS
  return digits.slice(0, { minute: 12, hour: 10, day: 8, month: 6 }[granularity]);
}

export function iso(t: number): string {
  return Number.isFinite(t) && Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : String(t);
}
