import type { HistoryPoint } from './history';
import { throttleReasons, throttledBy } from './history';

/** A spreadsheet must not run a cell as a formula: cells starting =, +, -, @ get a leading quote. */
function cell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The shown history as CSV: one row per bucket, a column per throttle reason present. */
export function historyCsv(points: readonly HistoryPoint[]): string {
  const reasons = throttleReasons([...points]);
  const header = [
    'start',
    'requests',
    'ok',
    'errors',
    'throttled',
    ...reasons.map((r) => `throttled_${r}`),
    'requested_cost',
    'actual_cost',
    'response_bytes',
    'cache_hits',
    'cache_misses',
    'latency_p50_ms',
    'latency_p95_ms',
    'latency_p99_ms',
  ];
  const rows = points.map((p) => {
    const t = p.totals;
    return [
      p.start,
      t.requests,
      t.ok,
      t.errors,
      t.throttled,
      ...reasons.map((r) => throttledBy(t, r)),
      t.requestedCost,
      t.actualCost,
      t.responseBytes,
      t.cacheHits,
      t.cacheMisses,
      t.latencyP50Ms,
      t.latencyP95Ms,
      t.latencyP99Ms,
    ];
  });
  return [header, ...rows].map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** Offers `text` as a file download (a blob URL, revoked once the click has been handled). */
export function download(filename: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** `usage-globex-hour-20261122T1500Z[-client-globex-admin].csv`: safe characters only. */
export function exportName(parts: { tenant: string; granularity: string; from: string; filter: string | null }, ext: 'csv' | 'json'): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');
  const from = `${parts.from.slice(0, 16).replace(/[-:]/g, '')}Z`;
  return `usage-${safe(parts.tenant)}-${parts.granularity.toLowerCase()}-${from}${parts.filter ? `-${safe(parts.filter)}` : ''}.${ext}`;
}
