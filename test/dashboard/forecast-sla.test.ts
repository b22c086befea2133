import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { FORECAST_METHOD } from '../../src/usage/forecast.js';
import { createRedisUsageStore } from '../../src/usage/redis-usage-store.js';
import { syntheticHour } from '../../src/usage/synthetic-history.js';
import { launchBrowser, openPage, screenshot, signIn } from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

const HOUR = 3_600_000;
/** acme's known synthetic history: this many admitted requests in every hour of the last week. */
const PER_HOUR = 10_000;
const FORECAST = '{ usage { forecast { metric period policy periodEnd used limit projected exhaustsAt ratePerHour method } } }';

const DAY = 86_400_000;
/** globex's known synthetic history: the previous UTC month, 1,000 requests a day at 40 ms, with a few bad days. */
const now0 = new Date();
const PREV_MONTH_START = Date.UTC(now0.getUTCFullYear(), now0.getUTCMonth() - 1, 1);
const PREV_MONTH = new Date(PREV_MONTH_START).toISOString().slice(0, 7);
const DAYS_IN_PREV = Math.round((Date.UTC(now0.getUTCFullYear(), now0.getUTCMonth(), 1) - PREV_MONTH_START) / DAY);
const dayOf = (n: number) => new Date(PREV_MONTH_START + (n - 1) * DAY).toISOString().slice(0, 10);
function globexDay(n: number) {
  const base = { requests: 1000, latency: { typical: 40 } };
  if (n === 3) return { ...base, errors: 30, faults: 20 }; // 98% available: breach
  if (n === 7) return { ...base, latency: { typical: 40, slow: 800, slowShare: 0.1 } }; // p95 in (500, 1000]: breach
  if (n === 10) return { ...base, throttledBy: { requests: 10, unavailable: 3 } }; // counted 1000 - 13 + 3 = 990: 1 - 3/990 = 99.697%: met
  return base;
}

describe('forecast, SLA and warnings, from known synthetic histories', () => {
  let redis: TestRedis;
  let client: Redis;
  let gateway: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = new Redis(redis.url);
    // The gateway meters into the same Redis the test writes the history to.
    gateway = await startTestGateway({
      env: { REDIS_URL: redis.url },
      patch: (c) => {
        c.limits = { storeTimeoutMs: 1000 };
        c.plans.pro.sla = { availability: 99.5, latencyP95Ms: 300 };
      },
    });
    const store = createRedisUsageStore({ redis: client });
    const currentHour = Math.floor(Date.now() / HOUR) * HOUR;
    const week = Array.from({ length: 7 * 24 }, (_, i) =>
      syntheticHour({
        tenantId: 'acme',
        planId: 'free',
        clientId: 'acme-admin',
        hourStart: currentHour - (i + 1) * HOUR,
        hour: { requests: PER_HOUR, cost: PER_HOUR },
      }),
    );
    await store.write(week);
    await store.write(
      Array.from({ length: DAYS_IN_PREV }, (_, i) =>
        syntheticHour({ tenantId: 'globex', planId: 'pro', clientId: 'globex-admin', hourStart: PREV_MONTH_START + i * DAY, hour: globexDay(i + 1) }),
      ),
    );
    for (let i = 0; i < 5; i++) expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ viewer { clientId } }')).status).toBe(200);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    client?.disconnect();
    await redis?.stop();
  });

  it('projects each quota at the history pace and says when it runs out', async () => {
    const before = Date.now();
    const res = await gateway.gql(DEMO_TOKENS.acmeAdmin, FORECAST);
    const after = Date.now();
    expect(res.body.errors).toBeUndefined();
    const rows = res.body.data.usage.forecast as Record<string, any>[];
    expect(rows.map((r) => `${r.metric}/${r.period}/${r.policy}`)).toEqual(['requests/day/day', 'requests/month/month', 'cost/month/null']);
    const [day, month, cost] = rows as [Record<string, any>, Record<string, any>, Record<string, any>];

    // acme's free plan: 1,000 a day, 20,000 a month; 5 admitted so far in both.
    expect(day).toMatchObject({ used: 5, limit: 1000, ratePerHour: PER_HOUR, method: FORECAST_METHOD });
    expect(month).toMatchObject({ used: 5, limit: 20_000, ratePerHour: PER_HOUR });
    for (const [row, limit] of [
      [day, 1000],
      [month, 20_000],
    ] as const) {
      const end = Date.parse(row.periodEnd);
      // A flat pace: the limit is reached (limit - used) / pace hours from now, if before the period ends.
      const earliest = before + ((limit - 5) / PER_HOUR) * HOUR;
      const latest = after + ((limit - 5) / PER_HOUR) * HOUR;
      if (latest < end) {
        expect(Date.parse(row.exhaustsAt)).toBeGreaterThanOrEqual(earliest - 1);
        expect(Date.parse(row.exhaustsAt)).toBeLessThanOrEqual(latest + 1);
      } else if (earliest > end) expect(row.exhaustsAt).toBeNull();
      expect(row.projected).toBeGreaterThanOrEqual(5 + ((end - after) / HOUR) * PER_HOUR - 0.01);
      expect(row.projected).toBeLessThanOrEqual(5 + ((end - before) / HOUR) * PER_HOUR + 0.01);
    }
    // The cost of the month has no limit: a projection for information, no run-out time.
    expect(cost).toMatchObject({ limit: null, exhaustsAt: null, ratePerHour: PER_HOUR });
  });

  it('shows the forecast with its method, warns that the daily quota will run out, and exports the shown history', async () => {
    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.acmeAdmin);
    const panel = page.locator('[data-panel="forecast"]');
    await panel.waitFor();
    expect(await panel.locator('tr[data-forecast="requests-day"] th').textContent()).toContain('Requests, daily quota');
    expect(await panel.locator('tr[data-forecast="requests-day"] td').nth(1).textContent()).toBe('1,000');
    expect(await panel.getByText('Method:').textContent()).toBe(`Method: ${FORECAST_METHOD}`);
    const warnings = page.locator('[data-panel="warnings"]');
    await warnings.waitFor();
    expect(await warnings.textContent()).toMatch(/At the current pace the daily request quota runs out at \d\d:\d\d:\d\d \(projected [\d,]+ of 1,000\)\./);
    await screenshot(page, 'portal-forecast');

    // Last 7 days at hour granularity: 168 synthetic hours of 10,000 plus this hour's 5.
    await page.getByLabel('Range').selectOption('7d');
    await page.locator('[data-chart="requests"]').getByText('Table view').click();
    await expect.poll(() => page.locator('[data-chart="requests"] .chart__table tbody tr').count()).toBeGreaterThanOrEqual(168);
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(csvDownload.suggestedFilename()).toMatch(/^usage-acme-hour-\d{8}T\d{4}Z\.csv$/);
    const csv = (await readFile((await csvDownload.path())!, 'utf8')).trim().split('\r\n');
    // The columns of /usage.csv (one writer: src/usage/csv.ts).
    expect(csv[0]).toBe(
      'start,granularity,requests,ok,errors,throttled,requested_cost,refused_cost,actual_cost,response_bytes,cache_hits,cache_misses,latency_p50_ms,latency_p95_ms,latency_p99_ms,latency_mean_ms',
    );
    expect(csv.slice(1).every((line) => line.split(',')[1] === 'hour')).toBe(true);
    const requests = csv.slice(1).map((line) => Number(line.split(',')[2]));
    expect(requests.filter((n) => n === PER_HOUR)).toHaveLength(7 * 24);
    expect(requests.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(7 * 24 * PER_HOUR + 5);

    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    expect(jsonDownload.suggestedFilename()).toMatch(/^usage-acme-hour-\d{8}T\d{4}Z\.json$/);
    const json = JSON.parse(await readFile((await jsonDownload.path())!, 'utf8'));
    expect(json).toMatchObject({ tenant: 'acme', granularity: 'HOUR', filter: null });
    expect(json.points).toHaveLength(csv.length - 1);
    expect(json.points.filter((p: any) => p.totals.requests === PER_HOUR)).toHaveLength(7 * 24);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it("reports the SLA per day and month against the plan's targets, with the breaching days", async () => {
    const q = `{ usage { sla(month: "${PREV_MONTH}") { target { availability latencyP95Ms } month total { counted failures availability breached } days { start counted failures availability breached } breaches { start breached } } } }`;
    const res = await gateway.gql(DEMO_TOKENS.globexAdmin, q);
    expect(res.body.errors).toBeUndefined();
    const sla = res.body.data.usage.sla;
    expect(sla.target).toEqual({ availability: 99.5, latencyP95Ms: 300 });
    expect(sla.month).toBe(PREV_MONTH);
    expect(sla.days).toHaveLength(DAYS_IN_PREV);
    expect(sla.breaches).toEqual([
      { start: `${dayOf(3)}T00:00:00.000Z`, breached: ['availability'] },
      { start: `${dayOf(7)}T00:00:00.000Z`, breached: ['latency'] },
    ]);
    expect(sla.days[2]).toMatchObject({ counted: 1000, failures: 20, availability: 98 });
    expect(sla.days[9]).toMatchObject({ counted: 990, failures: 3, availability: 99.697, breached: [] });
    const counted = DAYS_IN_PREV * 1000 - 10;
    expect(sla.total).toEqual({ counted, failures: 23, availability: Math.round((1 - 23 / counted) * 100_000) / 1000, breached: [] });
  });

  it("shows the SLA panel with the month's breaches", async () => {
    const { page, problems } = await openPage(browser, gateway.url);
    await signIn(page, gateway.url, DEMO_TOKENS.globexAdmin);
    const panel = page.locator('[data-panel="sla"]');
    await panel.waitFor();
    await panel.getByLabel('Month (UTC)').selectOption(PREV_MONTH);
    await expect
      .poll(() => panel.getByTestId('sla-breaches').locator('li').allTextContents())
      .toEqual([
        `${dayOf(3)}: missed: availability (availability 98.000%, 20 failures of 1,000; p95 48.5 ms)`, // all in (20, 50] ms: 20 + 0.95 × 30
        expect.stringMatching(new RegExp(`^${dayOf(7)}: missed: latency \\(availability 100\\.000%, 0 failures of 1,000; p95 [\\d.]+ ms\\)$`)),
      ]);
    expect(await panel.getByTestId('sla-month').textContent()).toMatch(
      new RegExp(`^${PREV_MONTH}: availability 99\\.9\\d\\d%, p95 [\\d.]+ ms over [\\d,]+ requests — met$`),
    );
    expect(await panel.textContent()).toContain('Failures: responses with HTTP 5xx');
    await screenshot(page, 'portal-sla');
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
