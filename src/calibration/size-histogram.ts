/**
 * A fixed histogram of list sizes: one bucket per size from 0 to 32 (exact: most lists are short,
 * and a suggested `assumedSize` of 7 must not come out as 8), then buckets 25 % wide up to
 * 1,000,000, then one overflow bucket. Fixed edges make histograms of several instances add up
 * bucket by bucket, and the memory is the same for every field: 81 counts.
 */
const EXACT_UP_TO = 32;
const GROWTH = 1.25;
const TOP = 1_000_000;

/** Inclusive upper edges of the buckets; the last bucket (overflow) has none. */
export const SIZE_BUCKET_EDGES: readonly number[] = (() => {
  const edges: number[] = [];
  for (let size = 0; size <= EXACT_UP_TO; size++) edges.push(size);
  let edge = EXACT_UP_TO;
  while (edge < TOP) {
    edge = Math.min(TOP, Math.ceil(edge * GROWTH));
    edges.push(edge);
  }
  return edges;
})();

/** Counts per bucket: `SIZE_BUCKET_EDGES.length` buckets plus the overflow. */
export type SizeCounts = number[];

export function emptyCounts(): SizeCounts {
  return new Array<number>(SIZE_BUCKET_EDGES.length + 1).fill(0);
}

/** The bucket a size falls in: the first whose upper edge is at least the size. */
export function bucketOf(size: number): number {
  if (size <= EXACT_UP_TO) return Math.max(0, Math.ceil(size));
  let low = EXACT_UP_TO + 1;
  let high = SIZE_BUCKET_EDGES.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (SIZE_BUCKET_EDGES[mid]! >= size) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * The q-quantile by nearest rank (the smallest size with at least q·n observations at or below
 * it), as the upper edge of its bucket: exact up to 32, at most 25 % above the true value beyond,
 * never below it, so an `assumedSize` taken from it never prices under what was seen. The overflow
 * bucket answers `max`. Null for an empty histogram.
 */
export function quantileOf(counts: SizeCounts, q: number, max: number): number | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return i < SIZE_BUCKET_EDGES.length ? Math.min(SIZE_BUCKET_EDGES[i]!, max) : max;
  }
  return max;
}
