import type { HistoryPoint } from './store.js';

/**
 * History as CSV (RFC 4180: comma separated, CRLF line ends, fields quoted when they hold a
 * comma, quote or line break). A header row, then one row per bucket, oldest first. Throttled
 * requests by reason get one `throttled_<reason>` column per reason present in any row (sorted);
 * latency columns are ms and empty for a bucket without requests.
 */
export function historyToCsv(points: readonly HistoryPoint[]): string {
  const reasons = [...new Set(points.flatMap((point) => Object.keys(point.throttledBy)))].sort();
  const header = [
    'start',
    'granularity',
    'requests',
    'ok',
    'errors',
    'throttled',
    ...reasons.map((reason) => `throttled_${reason}`),
    'requested_cost',
    'actual_cost',
    'response_bytes',
    'cache_hits',
    'cache_misses',
    'latency_p50_ms',
    'latency_p95_ms',
    'latency_p99_ms',
    'latency_mean_ms',
  ];
  const rows = points.map((point) => [
    point.start,
    point.granularity,
    point.requests,
    point.ok,
    point.errors,
    point.throttled,
    ...reasons.map((reason) => point.throttledBy[reason] ?? 0),
    point.requestedCost,
    point.actualCost,
    point.responseBytes,
    point.cacheHits,
    point.cacheMisses,
    point.latency.p50,
    point.latency.p95,
    point.latency.p99,
    point.latency.mean,
  ]);
  return [header, ...rows].map((row) => row.map(cell).join(',') + '\r\n').join('');
}

function cell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
