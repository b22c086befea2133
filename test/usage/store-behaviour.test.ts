import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS_MS, latencyBucket } from '../../src/usage/counters.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { UsageQueryError, type UsageStore } from '../../src/usage/store.js';
import { DAY, HOUR, MINUTE, T0, backends, event, meterInto, type Backend } from './helpers.js';

/**
 * One behavioural suite for both stores: the memory store (the one-process default) and the
 * Redis store against a real redis-server. Events go through a real meter.
 */

const at = (iso: string) => Date.parse(iso);
const requests = (points: { requests: number }[]) => points.map((p) => p.requests);
const repeat = (n: number, make: (i: number) => UsageEvent): UsageEvent[] => Array.from({ length: n }, (_, i) => make(i));

/** The exact nearest-rank percentile of the values. */
function exactPercentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(q * sorted.length) - 1]!;
}

/** The documented error: the estimate lies in the histogram bucket of the exact value. */
function expectWithinHistogramError(estimate: number | null, exact: number) {
  const i = latencyBucket(exact);
  const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
  const upper = LATENCY_BOUNDS_MS[i] ?? lower;
  expect(estimate).not.toBeNull();
  expect(estimate!).toBeGreaterThanOrEqual(lower);
  expect(estimate!).toBeLessThanOrEqual(upper);
  expect(Math.abs(estimate! - exact)).toBeLessThanOrEqual(upper - lower);
}

describe.each(backends)('$name', (backend: Backend) => {
  let harness: Awaited<ReturnType<Backend['start']>>;
  beforeAll(async () => {
    harness = await backend.start();
  });
  afterAll(async () => {
    await harness.close();
  });
  beforeEach(async () => {
    await harness.reset();
  });
  const storeAt = (now: number): UsageStore => harness.make(() => now);

  it('lands events in the UTC minute, hour, day and month of their arrival, zero-filling the gaps', async () => {
    const store = storeAt(at('2026-12-01T12:00:00Z'));
    await meterInto(store, [
      event({ at: at('2026-11-22T15:30:10Z') }),
      event({ at: at('2026-11-22T15:30:59.999Z') }),
      event({ at: at('2026-11-22T15:31:00Z') }),
      event({ at: at('2026-11-22T16:10:00Z') }),
      event({ at: at('2026-11-23T01:00:00Z') }),
      event({ at: at('2026-11-30T23:59:59.999Z') }),
      event({ at: at('2026-12-01T00:00:00Z') }),
    ]);
    const history = (granularity: 'minute' | 'hour' | 'day' | 'month', from: string, to: string) =>
      store.history({ tenantId: 'acme', granularity, from: at(from), to: at(to) });

    const minutes = await history('minute', '2026-11-22T15:29:30Z', '2026-11-22T15:32:00Z');
    expect(minutes.map((p) => [p.start, p.granularity, p.requests])).toEqual([
      ['2026-11-22T15:29:00.000Z', 'minute', 0],
      ['2026-11-22T15:30:00.000Z', 'minute', 2],
      ['2026-11-22T15:31:00.000Z', 'minute', 1],
      ['2026-11-22T15:32:00.000Z', 'minute', 0],
    ]);
    expect(minutes[0]!.latency).toEqual({ p50: null, p95: null, p99: null, mean: null });

    const hours = await history('hour', '2026-11-22T15:00:00Z', '2026-11-22T17:59:59Z');
    expect(hours.map((p) => [p.start, p.requests])).toEqual([
      ['2026-11-22T15:00:00.000Z', 3],
      ['2026-11-22T16:00:00.000Z', 1],
      ['2026-11-22T17:00:00.000Z', 0],
    ]);
    expect(requests(await history('day', '2026-11-22T00:00:00Z', '2026-11-24T00:00:00Z'))).toEqual([4, 1, 0]);
    expect(requests(await history('day', '2026-11-30T12:00:00Z', '2026-12-01T12:00:00Z'))).toEqual([1, 1]);
    const months = await history('month', '2026-10-15T00:00:00Z', '2026-12-31T23:59:59Z');
    expect(months.map((p) => [p.start, p.requests])).toEqual([
      ['2026-10-01T00:00:00.000Z', 0],
      ['2026-11-01T00:00:00.000Z', 6],
      ['2026-12-01T00:00:00.000Z', 1],
    ]);
  });

  it('marks the bucket still filling as partial, so a chart does not read its low count as a drop', async () => {
    const now = at('2026-12-01T12:30:20Z');
    const store = storeAt(now);
    await meterInto(store, [event({ at: at('2026-12-01T12:29:10Z') }), event({ at: at('2026-12-01T12:30:05Z') })]);
    const partial = async (granularity: 'minute' | 'hour' | 'month', from: string) =>
      (await store.history({ tenantId: 'acme', granularity, from: at(from), to: now })).map((p) => [p.start, p.partial]);
    expect(await partial('minute', '2026-12-01T12:28:00Z')).toEqual([
      ['2026-12-01T12:28:00.000Z', false],
      ['2026-12-01T12:29:00.000Z', false],
      ['2026-12-01T12:30:00.000Z', true],
    ]);
    expect(await partial('hour', '2026-12-01T11:00:00Z')).toEqual([
      ['2026-12-01T11:00:00.000Z', false],
      ['2026-12-01T12:00:00.000Z', true],
    ]);
    expect(await partial('month', '2026-11-01T00:00:00Z')).toEqual([
      ['2026-11-01T00:00:00.000Z', false],
      ['2026-12-01T00:00:00.000Z', true],
    ]);
    const merged = await store.mergedHistory({ granularity: 'minute', from: at('2026-12-01T12:29:00Z'), to: now, series: [{ tenantId: 'acme' }] });
    expect(merged.map((p) => p.partial)).toEqual([false, true]);
  });

  it('counts statuses, throttle reasons, costs, bytes and cache hits exactly', async () => {
    const store = storeAt(T0);
    await meterInto(store, [
      event({ status: 'ok', requestedCost: 2.5, actualCost: 1.25, responseBytes: 1000, cacheHits: 2, cacheMisses: 1 }),
      event({ status: 'ok', requestedCost: 10, actualCost: 7.5, responseBytes: 24, cacheHits: 0, cacheMisses: 3 }),
      event({ status: 'error', requestedCost: 1, actualCost: 0, responseBytes: 300 }),
      event({ status: 'throttled', throttledBy: 'requests', principalKind: 'service', clientId: 'svc-billing' }),
      event({ status: 'throttled', throttledBy: 'requests' }),
      event({ status: 'throttled', throttledBy: 'cost', requestedCost: 500 }),
      event({ status: 'throttled', throttledBy: 'Not A Reason!' }),
      event({ status: 'throttled', throttledBy: null }),
    ]);
    const [point] = await store.history({ tenantId: 'acme', granularity: 'day', from: T0, to: T0 });
    expect(point).toMatchObject({
      start: '2026-11-22T00:00:00.000Z',
      requests: 8,
      ok: 2,
      errors: 1,
      throttled: 5,
      throttledBy: { cost: 1, other: 1, requests: 2, unknown: 1 },
      // The 500 points of the refused request are refused cost, never requested cost (issue 21, item 1).
      requestedCost: 13.5,
      refusedCost: 500,
      actualCost: 8.75,
      responseBytes: 1324,
      cacheHits: 2,
      cacheMisses: 4,
    });
    // Throttled share, as the usage field and the fleet view compute it.
    expect(point!.throttled / point!.requests).toBe(0.625);
    // The service token is metered as a client like any API key.
    const clients = await store.breakdown({ tenantId: 'acme', granularity: 'day', from: T0, to: T0, by: 'client' });
    expect(clients.map((c) => [c.key, c.totals.requests, c.totals.throttled])).toEqual([
      ['key-1', 7, 4],
      ['svc-billing', 1, 1],
    ]);
  });

  it('answers latency percentiles from the histogram within the documented error, and the exact mean', async () => {
    const store = storeAt(T0);
    const uniform = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100 ms
    const skewed = [...Array<number>(90).fill(3), ...Array<number>(10).fill(1500)];
    await meterInto(store, [
      ...uniform.map((latencyMs) => event({ latencyMs, clientId: 'uniform' })),
      ...skewed.map((latencyMs) => event({ latencyMs, clientId: 'skewed' })),
      event({ latencyMs: 12_000, clientId: 'slow' }),
    ]);
    const latency = async (client: string) => (await store.history({ tenantId: 'acme', granularity: 'minute', from: T0, to: T0, client }))[0]!.latency;

    const u = await latency('uniform');
    expect(u).toEqual({ p50: 50, p95: 95, p99: 99, mean: 50.5 });
    const s = await latency('skewed');
    for (const [q, estimate] of [
      [0.5, s.p50],
      [0.95, s.p95],
      [0.99, s.p99],
    ] as const) {
      expectWithinHistogramError(estimate, exactPercentile(skewed, q));
    }
    expect(s.p50).toBe(3.667);
    expect(s.mean).toBe(152.7);
    // Past the last bound the histogram has no upper edge: reported as 5000 ms.
    expect(await latency('slow')).toEqual({ p50: 5000, p95: 5000, p99: 5000, mean: 12_000 });
  });

  it("breaks a tenant down per client and per root field, and answers each one's history", async () => {
    const store = storeAt(T0);
    await meterInto(store, [
      ...repeat(3, () => event({ clientId: 'key-1', rootFields: ['Query.customers', 'Query.product'] })),
      event({ clientId: 'key-2', rootFields: ['Query.customers'], at: T0 + HOUR }),
      ...repeat(2, () => event({ clientId: 'svc', principalKind: 'service', rootFields: ['Mutation.placeOrder'], status: 'error' })),
    ]);
    const range = { tenantId: 'acme', granularity: 'hour' as const, from: T0, to: T0 + HOUR };
    const clients = await store.breakdown({ ...range, by: 'client' });
    expect(clients.map((c) => [c.key, c.totals.requests, c.totals.errors])).toEqual([
      ['key-1', 3, 0],
      ['svc', 2, 2],
      ['key-2', 1, 0],
    ]);
    const fields = await store.breakdown({ ...range, by: 'rootField' });
    expect(fields.map((f) => [f.key, f.totals.requests])).toEqual([
      ['Query.customers', 4],
      ['Query.product', 3],
      ['Mutation.placeOrder', 2],
    ]);
    expect(requests(await store.history({ ...range, client: 'key-2' }))).toEqual([0, 1]);
    expect(requests(await store.history({ ...range, rootField: 'Query.customers' }))).toEqual([3, 1]);
    expect(requests(await store.history({ ...range, granularity: 'minute', from: T0, to: T0 + 2 * MINUTE, rootField: 'Query.product' }))).toEqual([3, 0, 0]);
    // A range the clients were idle in lists none of them.
    expect(await store.breakdown({ ...range, from: T0 + 2 * HOUR, to: T0 + 3 * HOUR, by: 'client' })).toEqual([]);
    await expect(store.history({ ...range, client: 'key-1', rootField: 'Query.product' })).rejects.toThrow(
      'usage history reads the buckets of one client or one root field, not both: pass client or rootField',
    );
  });

  it("never shows one tenant another tenant's usage, even with the same client ids and fields", async () => {
    const store = storeAt(T0);
    await meterInto(store, [
      ...repeat(2, () => event({ tenantId: 'acme', clientId: 'key-1' })),
      ...repeat(5, () => event({ tenantId: 'globex', clientId: 'key-1', status: 'throttled', throttledBy: 'quota' })),
      event({ tenantId: 'globex', clientId: 'key-9' }),
    ]);
    const range = { granularity: 'minute' as const, from: T0, to: T0 };
    const acme = await store.history({ ...range, tenantId: 'acme' });
    expect(acme[0]).toMatchObject({ requests: 2, throttled: 0, throttledBy: {} });
    expect((await store.history({ ...range, tenantId: 'acme', client: 'key-1' }))[0]!.requests).toBe(2);
    expect((await store.history({ ...range, tenantId: 'acme', rootField: 'Query.customers' }))[0]!.requests).toBe(2);
    expect((await store.breakdown({ ...range, tenantId: 'acme', by: 'client' })).map((c) => [c.key, c.totals.requests])).toEqual([['key-1', 2]]);
    expect((await store.history({ ...range, tenantId: 'globex', client: 'key-1' }))[0]!.requests).toBe(5);
    expect((await store.history({ ...range, tenantId: 'nobody' }))[0]!.requests).toBe(0);
  });

  it('gives the fleet view: tenants by requests with their latest plan, per plan and per root field', async () => {
    const store = storeAt(T0 + DAY);
    await meterInto(store, [
      ...repeat(3, () => event({ tenantId: 'acme', planId: 'pro', rootFields: ['Query.customers'] })),
      ...repeat(2, () => event({ tenantId: 'globex', planId: 'free', rootFields: ['Query.product'], status: 'throttled', throttledBy: 'requests' })),
      ...repeat(4, () => event({ tenantId: 'globex', planId: 'pro', at: T0 + DAY, rootFields: ['Query.customers', 'Query.product'] })),
      event({ tenantId: 'initech', planId: 'free', rootFields: [] }),
    ]);
    const twoDays = { granularity: 'day' as const, from: T0, to: T0 + DAY };
    const tenants = await store.tenants(twoDays);
    expect(tenants.map((t) => [t.tenantId, t.planId, t.totals.requests, t.totals.throttled])).toEqual([
      ['globex', 'pro', 6, 2],
      ['acme', 'pro', 3, 0],
      ['initech', 'free', 1, 0],
    ]);
    expect((await store.tenants({ granularity: 'hour', from: T0, to: T0 })).map((t) => [t.tenantId, t.planId, t.totals.requests])).toEqual([
      ['acme', 'pro', 3],
      ['globex', 'free', 2],
      ['initech', 'free', 1],
    ]);
    const plans = await store.plans(twoDays);
    expect(plans.map((p) => [p.planId, p.totals.requests, p.totals.throttled])).toEqual([
      ['pro', 7, 0],
      ['free', 3, 2],
    ]);
    const fields = await store.rootFields(twoDays);
    expect(fields.map((f) => [f.rootField, f.totals.requests, f.totals.throttledBy])).toEqual([
      ['Query.customers', 7, {}],
      ['Query.product', 6, { requests: 2 }],
    ]);
    expect(await store.tenants({ granularity: 'day', from: T0 + 2 * DAY, to: T0 + 3 * DAY })).toEqual([]);
  });

  it('sums a range from whole hours, days and months exactly as from its fine buckets', async () => {
    // One request every 37 minutes for 40 days, two tenants, two clients.
    const events = repeat(1557, (i) =>
      event({ at: T0 - 20 * DAY + i * 37 * MINUTE, clientId: i % 2 ? 'key-1' : 'key-2', tenantId: i % 3 ? 'acme' : 'globex', latencyMs: i % 100 }),
    );
    const size = { minute: MINUTE, hour: HOUR, day: DAY };
    for (const [granularity, from, to] of [
      ['hour', T0 - 12 * DAY + 5 * MINUTE, T0 + 12 * DAY + 23 * MINUTE],
      ['minute', T0 + 7 * MINUTE, T0 + 15 * HOUR + 45 * MINUTE],
      ['day', T0 - 25 * DAY, T0 + 25 * DAY],
    ] as const) {
      await harness.reset();
      const store = storeAt(to + HOUR);
      await meterInto(store, events);
      const q = { granularity, from, to };
      const first = Math.floor(from / size[granularity]) * size[granularity];
      const end = Math.floor(to / size[granularity]) * size[granularity] + size[granularity];
      const inRange = events.filter((e) => e.tenantId === 'acme' && e.at >= first && e.at < end);
      const history = await store.history({ ...q, tenantId: 'acme' });
      expect(history.reduce((sum, p) => sum + p.requests, 0)).toBe(inRange.length);
      const acme = (await store.tenants(q)).find((t) => t.tenantId === 'acme')!;
      expect(acme.totals.requests).toBe(inRange.length);
      const mean = inRange.reduce((sum, e) => sum + e.latencyMs, 0) / inRange.length;
      expect(acme.totals.latency.mean).toBe(Math.round(mean * 1000) / 1000);
      const clients = await store.breakdown({ ...q, tenantId: 'acme', by: 'client' });
      expect(clients.reduce((sum, c) => sum + c.totals.requests, 0)).toBe(inRange.length);
    }
  });

  it("counts (the forecast's read) give each bucket's requests, throttled and actual cost of the tenant and of its root fields, as history does", async () => {
    const store = storeAt(T0 + DAY);
    await meterInto(store, [
      ...repeat(3, () => event({ rootFields: ['Query.customers', 'Query.usage'], actualCost: 2.5 })),
      event({ rootFields: ['Query.usage'], status: 'throttled', throttledBy: 'requests', at: T0 + 2 * HOUR }),
      event({ rootFields: ['Query.customers'], actualCost: 0.001, at: T0 + 2 * HOUR + MINUTE }),
    ]);
    const range = { tenantId: 'acme', granularity: 'hour' as const, from: T0, to: T0 + 2 * HOUR };
    const [tenant, usage, none] = await store.counts({ ...range, series: [null, 'Query.usage', 'Query.nothing'] });
    const hour = T0 - (T0 % HOUR); // T0 is half past
    expect(tenant).toEqual([
      { start: hour, requests: 3, throttled: 0, actualCostMilli: 7500 },
      { start: hour + HOUR, requests: 0, throttled: 0, actualCostMilli: 0 },
      { start: hour + 2 * HOUR, requests: 2, throttled: 1, actualCostMilli: 1 },
    ]);
    expect(usage!.map((c) => [c.requests, c.throttled])).toEqual([
      [3, 0],
      [0, 0],
      [1, 1],
    ]);
    expect(none!.every((c) => c.requests === 0 && c.actualCostMilli === 0)).toBe(true);
    const history = await store.history(range);
    expect(tenant!.map((c) => [new Date(c.start).toISOString(), c.requests, c.throttled, c.actualCostMilli / 1000])).toEqual(
      history.map((p) => [p.start, p.requests, p.throttled, p.actualCost]),
    );
    // The same retention as history: per-root-field hours are kept 30 days.
    await expect(storeAt(T0 + 40 * DAY).counts({ ...range, series: ['Query.usage'] })).rejects.toThrow(UsageQueryError);
  });

  it('refuses ranges over 1000 buckets and ranges past retention, naming the limit', async () => {
    const store = storeAt(T0);
    const thousand = await store.history({ tenantId: 'acme', granularity: 'minute', from: T0 - 999 * MINUTE, to: T0 });
    expect(thousand).toHaveLength(1000);
    expect(thousand[999]!.start).toBe('2026-11-22T15:30:00.000Z');
    const tooLong = store.history({ tenantId: 'acme', granularity: 'minute', from: T0 - 1000 * MINUTE, to: T0 });
    await expect(tooLong).rejects.toThrow(UsageQueryError);
    await expect(tooLong).rejects.toThrow('usage range spans 1001 minute buckets; the limit is 1000: narrow the range or use a coarser granularity');
    await expect(store.tenants({ granularity: 'hour', from: T0 - 1000 * HOUR, to: T0 })).rejects.toThrow('usage range spans 1001 hour buckets');
    await expect(store.history({ tenantId: 'acme', granularity: 'minute', from: T0, to: T0 - 1 })).rejects.toThrow(
      'usage range must have from <= to: from 2026-11-22T15:30:00.000Z, to 2026-11-22T15:29:59.999Z',
    );
    await expect(store.history({ tenantId: 'acme', granularity: 'week' as never, from: T0, to: T0 })).rejects.toThrow(
      'granularity must be one of minute, hour, day, month: "week"',
    );
    // A tenant's minute buckets are kept 30 days, a client's or root field's 2 days.
    await expect(store.history({ tenantId: 'acme', granularity: 'minute', from: T0 - 3 * DAY, to: T0 - 3 * DAY + HOUR })).resolves.toHaveLength(61);
    await expect(store.history({ tenantId: 'acme', granularity: 'minute', from: T0 - 3 * DAY, to: T0 - 3 * DAY, client: 'key-1' })).rejects.toThrow(
      'per-client minute buckets are kept 2 days: from 2026-11-19T15:30:00.000Z is before 2026-11-20T15:30:00.000Z; use a coarser granularity',
    );
    await expect(store.breakdown({ tenantId: 'acme', granularity: 'hour', from: T0 - 31 * DAY, to: T0 - 30 * DAY, by: 'rootField' })).rejects.toThrow(
      'per-root-field hour buckets are kept 30 days',
    );
    await expect(store.history({ tenantId: 'acme', granularity: 'minute', from: T0 - 31 * DAY, to: T0 - 31 * DAY })).rejects.toThrow(
      'minute buckets are kept 30 days',
    );
    await expect(store.history({ tenantId: 'acme', granularity: 'day', from: T0 - 900 * DAY, to: T0 - 899 * DAY, client: 'key-1' })).resolves.toHaveLength(2);
  });

  it('flags a tenant whose last complete minute exceeds max(5 x its previous-hour mean, 60)', async () => {
    const now = T0 + 30_000; // in minute 15:30, so the last complete minute is 15:29
    const store = storeAt(now);
    const perMinute = (tenantId: string, counts: (minute: number) => number): UsageEvent[] =>
      // minute 0 = 14:29 ... 59 = 15:28 (baseline), 60 = 15:29 (current)
      Array.from({ length: 61 }, (_, m) => repeat(counts(m), () => event({ tenantId, at: T0 - (61 - m) * MINUTE + 1000 }))).flat();
    await meterInto(store, [
      ...perMinute('spiky', (m) => (m === 60 ? 100 : 10)), // 100 > max(50, 60)
      ...perMinute('steady', () => 100),
      ...perMinute('small', (m) => (m === 60 ? 50 : 1)), // 50 > 5 but under the floor
      ...perMinute('newbie', (m) => (m === 60 ? 61 : 0)), // no history: only the floor applies
      ...perMinute('edge', (m) => (m === 60 ? 100 : 20)), // exactly 5x: not above it
      ...repeat(500, () => event({ tenantId: 'incomplete', at: T0 + 10_000 })), // the current minute is not complete
    ]);
    expect(await store.anomalies({ now })).toEqual([
      { tenantId: 'newbie', currentPerMinute: 61, baselinePerMinute: 0, ratio: 61 },
      { tenantId: 'spiky', currentPerMinute: 100, baselinePerMinute: 10, ratio: 10 },
    ]);
    // A minute later 'incomplete' is judged: 500 against no baseline.
    expect((await store.anomalies({ now: now + MINUTE })).map((a) => a.tenantId)).toContain('incomplete');
  });
});
