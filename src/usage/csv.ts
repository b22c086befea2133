/**
 * The one usage-history CSV writer: `/usage.csv` (src/http/usage-csv.ts) sends it, and the
 * dashboard's Export CSV (dashboard/src/export.ts) builds it in the browser, so the two files a
 * tenant can download have the same columns and escaping. The dashboard bundles this file: it
 * imports nothing, and must stay free of Node-only code.
 */

/** One bucket as the CSV needs it; the store's `HistoryPoint` is one. */
export interface CsvPoint {
  /** ISO 8601 start of the bucket, UTC. */
  start: string;
  /** `minute`, `hour`, `day` or `month`. */
  granularity: string;
  requests: number;
  ok: number;
  errors: number;
  throttled: number;
  /** Throttled requests by the limit that refused them. */
  throttledBy: Readonly<Record<string, number>>;
  requestedCost: number;
  refusedCost: number;
  actualCost: number;
  responseBytes: number;
  cacheHits: number;
  cacheMisses: number;
  /** ms; null for a bucket without requests. */
  latency: { p50: number | null; p95: number | null; p99: number | null; mean: number | null };
}

/**
 * History as CSV (RFC 4180: comma separated, CRLF line ends, fields quoted when they hold a
 * comma, quote or line break). A header row, then one row per bucket, in the order given.
 * Throttled requests by reason get one `throttled_<reason>` column per reason present in any row
 * (sorted); latency columns are ms and empty for a bucket without requests.
 */
export function historyToCsv(points: readonly CsvPoint[]): string {
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
    'refused_cost',
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
    point.refusedCost,
    point.actualCost,
    point.responseBytes,
    point.cacheHits,
    point.cacheMisses,
    point.latency.p50,
    point.latency.p95,
    point.latency.p99,
    point.latency.mean,
  ]);
  return [header, ...rows].map((row) => `${row.map(csvCell).join(',')}\r\n`).join('');
}

/**
 * One field. A spreadsheet must not run a cell as a formula: a text cell starting with `=`, `+`,
 * `-`, `@`, a tab or a carriage return gets a leading `'` (numbers are written as they are, so a
 * negative number stays a number). Then RFC 4180 quoting.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
