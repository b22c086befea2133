import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyCsv } from '../../dashboard/src/history-csv.js';
import { PortalHistoryDocument, type PortalHistoryQuery } from '../../dashboard/src/generated/operations.js';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { eventually } from '../support/eventually.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * The two CSV files a tenant can download of one history, the gateway's /usage.csv and the
 * portal's Export CSV (built in the page from the PortalHistory query), are the same file.
 */
let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    // acme (free): 3 requests a minute, so the history holds throttled requests too.
    patch: (config) => {
      config.plans.free.limits = { requestsPerMinute: 3 };
    },
  });
});
afterAll(async () => {
  await gateway.close();
});

/** Column `index` summed over the rows of `csv` (the requests may straddle a minute). */
function columnSum(csv: string, index: number): number {
  return csv
    .trim()
    .split('\r\n')
    .slice(1)
    .reduce((total, line) => total + Number(line.split(',')[index]), 0);
}

describe('/usage.csv and the dashboard export', () => {
  it('write the same header and rows for the same history', async () => {
    const from = new Date(Date.now() - 5 * 60_000).toISOString();
    // Products (cached: a miss, then hits), then refusals once the minute's 3 requests are used.
    for (let i = 0; i < 5; i++) await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ products(first: 2) { id name } }');
    const to = new Date(Date.now() + 60_000).toISOString();
    // The products root field's series only: the reads below are metered too (as Query.usage).
    const range = { granularity: 'minute', from, to, rootField: 'Query.products' };
    const routeCsv = async () => {
      const response = await fetch(`${gateway.url}/usage.csv?${new URLSearchParams(range)}`, { headers: { authorization: `Bearer ${DEMO_TOKENS.acmeAdmin}` } });
      expect(response.status).toBe(200);
      return response.text();
    };
    // The meter flushes every second: wait until all five requests are in the history.
    expect(await eventually(async () => columnSum(await routeCsv(), 2) === 5)).toBe(true);

    const fromRoute = await routeCsv();
    const graphql = await gateway.gql(DEMO_TOKENS.acmeAdmin, PortalHistoryDocument.query, { ...range, granularity: 'MINUTE', client: null });
    expect(graphql.body.errors).toBeUndefined();
    const fromDashboard = historyCsv((graphql.body.data as PortalHistoryQuery).usage.history, 'MINUTE');

    expect(fromDashboard).toBe(fromRoute);
    expect(fromRoute.split('\r\n')[0]).toBe(
      'start,granularity,requests,ok,errors,throttled,throttled_requests,requested_cost,refused_cost,actual_cost,response_bytes,cache_hits,cache_misses,latency_p50_ms,latency_p95_ms,latency_p99_ms,latency_mean_ms',
    );
    // requests, ok, throttled, throttled_requests, cache_hits: 3 answered (a miss, then 2 hits), 2 refused by the per-minute limit.
    expect([2, 3, 5, 6, 11].map((index) => columnSum(fromRoute, index))).toEqual([5, 3, 2, 2, 2]);
    // The same operation five times: the 3 that ran are requested cost, the 2 refused are refused cost, never both.
    const [requested, refused] = [columnSum(fromRoute, 7), columnSum(fromRoute, 8)];
    expect(requested).toBeGreaterThan(0);
    expect(refused * 3).toBe(requested * 2);
  });
});
