import { LATENCY_BOUNDS_MS, type Counters } from './counters.js';
import type { UsageTotals } from './store.js';

export function toTotals(counters: Counters): UsageTotals {
  const { requests, errors, throttled } = counters;
  const throttledBy: Record<string, number> = {};
  for (const reason of [...counters.throttledBy.keys()].sort()) throttledBy[reason] = counters.throttledBy.get(reason)!;
  return {
    requests,
    ok: requests - errors - throttled,
    errors,
    faults: counters.faults,
    throttled,
    throttledBy,
    requestedCost: counters.requestedCostMilli / 1000,
    refusedCost: counters.refusedCostMilli / 1000,
    actualCost: counters.actualCostMilli / 1000,
    responseBytes: counters.responseBytes,
    cacheHits: counters.cacheHits,
    cacheMisses: counters.cacheMisses,
    latency: {
      p50: percentile(counters.latencyHistogram, 0.5),
      p95: percentile(counters.latencyHistogram, 0.95),
      p99: percentile(counters.latencyHistogram, 0.99),
      mean: requests === 0 ? null : round3(counters.latencySumMicros / 1000 / requests),
    },
  };
}

/**
 * The q-quantile (0 < q <= 1) of a latency histogram, in ms, or null when it is empty.
 *
 * Rank r = q * n; the bucket is the first whose cumulative count reaches r, which is the bucket
 * holding the exact nearest-rank percentile (the ceil(q * n)-th smallest latency). Within it the
 * value is interpolated linearly between the bucket's bounds (the first bucket's lower bound is
 * 0). **Error:** the estimate and the exact value lie in the same bucket, so they differ by at
 * most that bucket's width (1 ms up to 2 ms, 3 ms in (2, 5], ..., 3000 ms in (2000, 5000]), and
 * the estimate is within a factor 2.5 of the exact value. Beyond the last bound (5000 ms) the
 * histogram has no upper edge: such percentiles are reported as 5000.
 */
export function percentile(histogram: readonly number[], q: number): number | null {
  const n = histogram.reduce((sum, count) => sum + count, 0);
  if (n === 0) return null;
  const rank = q * n;
  let below = 0;
  for (let i = 0; i < histogram.length; i++) {
    const count = histogram[i]!;
    if (count > 0 && below + count >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i];
      if (upper === undefined) return lower;
      return round3(lower + ((rank - below) / count) * (upper - lower));
    }
    below += count;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
