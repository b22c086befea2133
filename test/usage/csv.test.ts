import { describe, expect, it } from 'vitest';
import { csvCell, historyToCsv } from '../../src/usage/csv.js';
import { createMemoryUsageStore } from '../../src/usage/memory-usage-store.js';
import type { HistoryPoint } from '../../src/usage/store.js';
import { HOUR, T0, event, meterInto } from './helpers.js';

const empty = { p50: null, p95: null, p99: null, mean: null };

describe('historyToCsv', () => {
  it('writes a header and one CRLF-terminated row per bucket, with a column per throttle reason present', async () => {
    const store = createMemoryUsageStore({ now: () => T0 });
    await meterInto(store, [
      event({ at: T0, latencyMs: 4, requestedCost: 2.5, actualCost: 2, responseBytes: 512, cacheHits: 1 }),
      event({ at: T0, latencyMs: 40, status: 'throttled', throttledBy: 'quota', requestedCost: 1 }),
      event({ at: T0 + 2 * HOUR, latencyMs: 700, status: 'error', cacheMisses: 2 }),
      event({ at: T0 + 2 * HOUR, latencyMs: 7, status: 'throttled', throttledBy: 'cost' }),
    ]);
    const points = await store.history({ tenantId: 'acme', granularity: 'hour', from: T0, to: T0 + 2 * HOUR });
    expect(historyToCsv(points)).toBe(
      [
        'start,granularity,requests,ok,errors,throttled,throttled_cost,throttled_quota,requested_cost,refused_cost,actual_cost,response_bytes,cache_hits,cache_misses,latency_p50_ms,latency_p95_ms,latency_p99_ms,latency_mean_ms',
        '2026-11-22T15:00:00.000Z,hour,2,1,0,1,0,1,2.5,1,2,512,1,0,5,47,49.4,22',
        '2026-11-22T16:00:00.000Z,hour,0,0,0,0,0,0,0,0,0,0,0,0,,,,',
        '2026-11-22T17:00:00.000Z,hour,2,0,1,1,1,0,0,0,0,0,0,2,10,950,990,353.5',
        '',
      ].join('\r\n'),
    );
  });

  it('quotes fields per RFC 4180 and writes just the header for no points', () => {
    const point: HistoryPoint = {
      start: '2026-11-22T00:00:00.000Z',
      granularity: 'day',
      partial: false,
      requests: 1,
      ok: 0,
      errors: 0,
      faults: 0,
      throttled: 1,
      throttledBy: { 'a,"b"': 1 },
      requestedCost: 0,
      refusedCost: 0,
      actualCost: 0,
      responseBytes: 0,
      cacheHits: 0,
      cacheMisses: 0,
      latency: empty,
    };
    const [header, row] = historyToCsv([point]).split('\r\n');
    expect(header).toContain(',throttled,"throttled_a,""b""",requested_cost,refused_cost,');
    expect(row).toBe('2026-11-22T00:00:00.000Z,day,1,0,0,1,1,0,0,0,0,0,0,,,,');
    expect(historyToCsv([])).toBe(
      'start,granularity,requests,ok,errors,throttled,requested_cost,refused_cost,actual_cost,response_bytes,cache_hits,cache_misses,latency_p50_ms,latency_p95_ms,latency_p99_ms,latency_mean_ms\r\n',
    );
  });

  it('keeps a spreadsheet from running a text cell as a formula, and writes numbers as they are', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'].map(csvCell)).toEqual(["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", '"\'\rx"']);
    expect(csvCell('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect([-1, 2.5, null, 'quota'].map(csvCell)).toEqual(['-1', '2.5', '', 'quota']);
  });
});
