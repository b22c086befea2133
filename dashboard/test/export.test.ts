import { describe, expect, it } from 'vitest';
import { exportName } from '../src/export';
import { historyCsv } from '../src/history-csv';

const totals = (over: Record<string, unknown> = {}) => ({
  requests: 3,
  ok: 1,
  errors: 1,
  throttled: 1,
  throttledPercent: 33.33,
  throttledBy: [{ reason: 'quota', count: 1 }],
  requestedCost: 2.5,
  refusedCost: 4,
  actualCost: 2,
  responseBytes: 100,
  cacheHits: 1,
  cacheMisses: 0,
  latencyP50Ms: 1.5,
  latencyP95Ms: null,
  latencyP99Ms: null,
  latencyMeanMs: 1.25,
  ...over,
});

describe('dashboard export', () => {
  it('writes the columns of /usage.csv: one CSV row per bucket, the granularity asked for, a column per throttle reason', () => {
    const csv = historyCsv(
      [
        { start: '2026-11-22T15:00:00.000Z', partial: false, totals: totals() },
        { start: '2026-11-22T16:00:00.000Z', partial: false, totals: totals({ requests: 0, ok: 0, errors: 0, throttled: 0, throttledBy: [] }) },
      ],
      'HOUR',
    );
    expect(csv).toBe(
      'start,granularity,requests,ok,errors,throttled,throttled_quota,requested_cost,refused_cost,actual_cost,response_bytes,cache_hits,cache_misses,latency_p50_ms,latency_p95_ms,latency_p99_ms,latency_mean_ms\r\n' +
        '2026-11-22T15:00:00.000Z,hour,3,1,1,1,1,2.5,4,2,100,1,0,1.5,,,1.25\r\n' +
        '2026-11-22T16:00:00.000Z,hour,0,0,0,0,0,2.5,4,2,100,1,0,1.5,,,1.25\r\n',
    );
  });

  it('quotes a throttle reason holding a comma or a quote, so columns stay aligned', () => {
    const csv = historyCsv([{ start: '2026-11-22T15:00:00.000Z', partial: false, totals: totals({ throttledBy: [{ reason: 'a,"b"', count: 1 }] }) }], 'HOUR');
    const header = csv.split('\r\n')[0]!;
    expect(header).toContain(',"throttled_a,""b""",');
  });

  it('names files from safe characters only', () => {
    expect(exportName({ tenant: 'globex', granularity: 'HOUR', from: '2026-11-22T15:04:05.000Z', filter: 'client-../../x y' }, 'csv')).toBe(
      'usage-globex-hour-20261122T1504Z-client-.._.._x_y.csv',
    );
  });
});
