import { describe, expect, it } from 'vitest';
import { createAlerts, type LimitObservation } from '../../src/alerts/alerts.js';
import { stableEventId } from '../../src/alerts/events.js';
import { createFiredSet } from '../../src/alerts/fired-set.js';
import { captureLogger, manualClock } from './capture.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** 2026-01-15T10:00:05Z: 5 s into a minute. */
const T0 = Date.UTC(2026, 0, 15, 10, 0, 5);
const DAY_END = Date.UTC(2026, 0, 16);

function setup() {
  const log = captureLogger();
  const clock = manualClock(T0);
  const alerts = createAlerts({ logger: log.logger, redis: null, webhook: null, now: clock.now });
  const observe = (results: LimitObservation[], tenantId = 'acme') => alerts.observeLimits({ tenantId, planId: 'pro', results });
  return { log, clock, alerts, observe };
}

describe('limit threshold alerts (one process, no Redis)', () => {
  it('a calendar quota fires once at 80% and once at 100% per window, not per request, and re-arms in the next period', async () => {
    const { alerts, observe, log } = setup();
    for (let used = 1; used <= 79; used += 1) observe([{ policy: 'day', used, limit: 100, resetAt: DAY_END }]);
    expect(log.alerts()).toEqual([]);

    for (let used = 80; used <= 99; used += 1) observe([{ policy: 'day', used, limit: 100, resetAt: DAY_END }]);
    expect(log.alerts().map((a) => a.threshold)).toEqual([80]);

    // At the limit, then refused requests reporting used = limit, many times.
    for (let i = 0; i < 50; i += 1) observe([{ policy: 'day', used: 100, limit: 100, resetAt: DAY_END }]);
    await alerts.flush();
    const events = log.alerts();
    expect(events.map((a) => a.threshold)).toEqual([80, 100]);
    expect(events[0]).toEqual({
      id: stableEventId(['limit_threshold', 'acme', 'day', DAY_END, 80]),
      kind: 'limit_threshold',
      at: new Date(T0).toISOString(),
      tenantId: 'acme',
      planId: 'pro',
      policy: 'day',
      threshold: 80,
      used: 80,
      limit: 100,
      windowResetAt: '2026-01-16T00:00:00.000Z',
    });
    const line = log.lines.find((l) => l.alert !== undefined)!;
    expect(line.level).toBe(40); // warn
    expect(line.msg).toBe('alert: limit_threshold');

    // The next day: a new window, so both thresholds fire again, with new ids.
    log.lines.length = 0;
    setupNextDay(observe);
    expect(log.alerts().map((a) => [a.threshold, a.windowResetAt])).toEqual([
      [80, new Date(DAY_END + DAY).toISOString()],
      [100, new Date(DAY_END + DAY).toISOString()],
    ]);
    expect(log.alerts()[0]!.id).not.toBe(events[0]!.id);
  });

  it('a sliding window (moving resetAt) fires once per epoch-aligned window period and re-arms in the next one', () => {
    const { observe, clock, log } = setup();
    const cost = (used: number) => [{ policy: 'cost-minute', used, limit: 1000, resetAt: clock.now() + 1000 + used, windowMs: MINUTE }];
    for (let used = 700; used <= 1000; used += 10) {
      observe(cost(used));
      clock.advance(500); // resetAt moves with every request
    }
    // 31 requests × 0.5 s: still inside 10:00:00–10:01:00.
    expect(clock.now()).toBeLessThan(Date.UTC(2026, 0, 15, 10, 1));
    const windowEnd = new Date(Date.UTC(2026, 0, 15, 10, 1)).toISOString();
    expect(log.alerts().map((a) => [a.threshold, a.windowResetAt])).toEqual([
      [80, windowEnd],
      [100, windowEnd],
    ]);

    // Next period, the tenant is still above 80%: one new 80% event, and nothing more in that period.
    clock.set(Date.UTC(2026, 0, 15, 10, 1, 2));
    for (let i = 0; i < 20; i += 1) observe(cost(900));
    expect(log.alerts().map((a) => [a.threshold, a.windowResetAt])).toEqual([
      [80, windowEnd],
      [100, windowEnd],
      [80, new Date(Date.UTC(2026, 0, 15, 10, 2)).toISOString()],
    ]);
  });

  it('uses the decision clock passed as `now` over its own', () => {
    const { alerts, log } = setup();
    const storeNow = Date.UTC(2026, 0, 15, 12, 30, 10);
    alerts.observeLimits({
      tenantId: 'acme',
      planId: 'pro',
      now: storeNow,
      results: [{ policy: 'cost-minute', used: 90, limit: 100, resetAt: 0, windowMs: MINUTE }],
    });
    expect(log.alerts()[0]).toMatchObject({ at: new Date(storeNow).toISOString(), windowResetAt: new Date(Date.UTC(2026, 0, 15, 12, 31)).toISOString() });
  });

  it('a jump straight past the limit fires 80 then 100; exactly 80% fires, just under does not; limit 0 never fires', () => {
    const { observe, log } = setup();
    observe([{ policy: 'month', used: 3, limit: 4, resetAt: DAY_END }]); // 75%
    observe([{ policy: 'bytes-hour', used: 0, limit: 0, resetAt: DAY_END, windowMs: 3_600_000 }]);
    expect(log.alerts()).toEqual([]);
    observe([{ policy: 'month', used: 4, limit: 5, resetAt: DAY_END }]); // exactly 80%
    expect(log.alerts().map((a) => a.threshold)).toEqual([80]);
    observe([{ policy: 'bytes-hour', used: 5_000_000, limit: 1_000_000, resetAt: DAY_END, windowMs: 3_600_000 }]); // checkOnly dims may overshoot
    expect(log.alerts().map((a) => [a.policy, a.threshold])).toEqual([
      ['month', 80],
      ['bytes-hour', 80],
      ['bytes-hour', 100],
    ]);
  });

  it('keeps tenants and policies apart', () => {
    const { observe, log } = setup();
    const day = { policy: 'day', used: 85, limit: 100, resetAt: DAY_END };
    const month = { policy: 'month', used: 850, limit: 1000, resetAt: DAY_END + 10 * DAY };
    observe([day, month], 'acme');
    observe([day, month], 'acme');
    observe([day], 'globex');
    expect(log.alerts().map((a) => `${a.tenantId}/${a.policy}/${a.threshold}`)).toEqual(['acme/day/80', 'acme/month/80', 'globex/day/80']);
  });
});

describe('anomaly and Redis status alerts', () => {
  it('fires an anomaly once per tenant per interval', () => {
    const log = captureLogger();
    const clock = manualClock(Date.UTC(2026, 0, 15, 10, 10));
    const alerts = createAlerts({ logger: log.logger, redis: null, webhook: null, now: clock.now, anomalyIntervalMs: 3_600_000 });
    const spike = { tenantId: 'acme', currentPerMinute: 900, baselinePerMinute: 60, ratio: 15 };
    alerts.anomaly(spike);
    clock.advance(20 * MINUTE);
    alerts.anomaly({ ...spike, currentPerMinute: 1200, ratio: 20 });
    alerts.anomaly({ ...spike, tenantId: 'globex' });
    expect(log.alerts().map((a) => a.tenantId)).toEqual(['acme', 'globex']);
    expect(log.alerts()[0]).toMatchObject({
      kind: 'anomaly',
      details: { currentPerMinute: 900, baselinePerMinute: 60, ratio: 15 },
      windowResetAt: '2026-01-15T11:00:00.000Z',
    });
    clock.set(Date.UTC(2026, 0, 15, 11, 0, 1));
    alerts.anomaly(spike);
    expect(log.alerts().map((a) => a.tenantId)).toEqual(['acme', 'globex', 'acme']);
  });

  it('fires redis_unavailable once on the way down and redis_recovered once on the way back, per component', () => {
    const log = captureLogger();
    const alerts = createAlerts({ logger: log.logger, redis: null, webhook: null });
    alerts.redisStatus('limits', true); // initially up: nothing
    expect(log.alerts()).toEqual([]);
    for (let i = 0; i < 5; i += 1) alerts.redisStatus('limits', false);
    alerts.redisStatus('cache', false);
    for (let i = 0; i < 5; i += 1) alerts.redisStatus('limits', true);
    alerts.redisStatus('limits', false);
    const events = log.alerts();
    expect(events.map((a) => `${a.kind}/${String(a.details?.component)}`)).toEqual([
      'redis_unavailable/limits',
      'redis_unavailable/cache',
      'redis_recovered/limits',
      'redis_unavailable/limits',
    ]);
    expect(new Set(events.map((a) => a.id)).size).toBe(4);
  });
});

describe('createFiredSet (the bounded in-process set)', () => {
  it('refuses a key until it expires', () => {
    const clock = manualClock(1_000_000);
    const set = createFiredSet({ maxEntries: 10, now: clock.now });
    expect(set.add('k', 1_000_010)).toBe(true);
    clock.advance(5);
    expect(set.add('k', 1_000_010)).toBe(false);
    clock.advance(5);
    expect(set.add('k', 1_000_100)).toBe(true);
  });

  it('sweeps expired entries and evicts the oldest past maxEntries', () => {
    const clock = manualClock(1_000_000);
    const set = createFiredSet({ maxEntries: 3, now: clock.now });
    for (const key of ['a', 'b', 'c', 'd']) set.add(key, 2_000_000);
    expect(set.size()).toBe(3);
    expect(set.add('a', 2_000_000)).toBe(true); // evicted, so it may fire again
    expect(set.add('d', 2_000_000)).toBe(false);

    const sweeping = createFiredSet({ maxEntries: 1000, now: clock.now });
    for (let i = 0; i < 100; i += 1) sweeping.add(`k${i}`, clock.now() + 1000);
    expect(sweeping.size()).toBe(100);
    clock.advance(61_000);
    sweeping.add('fresh', clock.now() + 1000);
    expect(sweeping.size()).toBe(1);
  });
});

function setupNextDay(observe: (results: LimitObservation[]) => void): void {
  for (const used of [10, 80, 95, 100, 100]) observe([{ policy: 'day', used, limit: 100, resetAt: DAY_END + DAY }]);
}
