import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAlerts, type Alerts, type LimitObservation } from '../../src/alerts/alerts.js';
import { createRedis } from '../../src/stores/redis.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { captureLogger, manualClock } from './capture.js';

const DAY_END = Date.UTC(2026, 0, 16);
const T0 = Date.UTC(2026, 0, 15, 10, 0, 5);

let server: TestRedis;
const clients: Redis[] = [];

async function connect(): Promise<Redis> {
  const { logger } = captureLogger();
  const redis = createRedis(server.url, logger);
  clients.push(redis);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

async function setCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_set:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

/** Two gateway instances: separate connections, loggers and Alerts, one Redis, one clock. */
async function twoInstances() {
  const clock = manualClock(T0);
  const make = async () => {
    const log = captureLogger();
    const alerts = createAlerts({ logger: log.logger, redis: await connect(), webhook: null, now: clock.now });
    return { log, alerts };
  };
  return { clock, a: await make(), b: await make() };
}

const day = (used: number): LimitObservation[] => [{ policy: 'day', used, limit: 100, resetAt: DAY_END }];
const observe = (alerts: Alerts, results: LimitObservation[], tenantId = 'acme') => alerts.observeLimits({ tenantId, planId: 'pro', results });

beforeAll(async () => {
  server = await startTestRedis();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await (await connect()).flushall();
});

describe('limit threshold alerts across instances (real Redis)', () => {
  it('two instances seeing the same tenant fire each threshold once in total', async () => {
    const { a, b } = await twoInstances();
    // Interleaved traffic, both instances crossing both thresholds, including in the same tick.
    for (let used = 70; used <= 100; used += 1) {
      observe(a.alerts, day(used));
      observe(b.alerts, day(used));
    }
    for (let i = 0; i < 20; i += 1) observe(i % 2 ? a.alerts : b.alerts, day(100));
    await Promise.all([a.alerts.flush(), b.alerts.flush()]);

    const all = [...a.log.alerts(), ...b.log.alerts()];
    expect(all.map((e) => e.threshold).sort()).toEqual([100, 80]);
    expect(a.alerts.stats().deduped + b.alerts.stats().deduped).toBe(2);

    const admin = await connect();
    const key = `alert:{acme}:day:${DAY_END}:80`;
    expect(await admin.get(key)).toBe('1');
    const ttl = await admin.pttl(key);
    // Until the window's end plus the 5 minute slack, measured from the (fake) decision clock.
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(DAY_END - T0 + 5 * 60_000);
    expect(ttl).toBeGreaterThan(DAY_END - T0);
  });

  it('re-arms fleet-wide in the next window', async () => {
    const { a, b } = await twoInstances();
    observe(a.alerts, day(85));
    await a.alerts.flush();
    observe(b.alerts, [{ policy: 'day', used: 85, limit: 100, resetAt: DAY_END + 86_400_000 }]);
    observe(a.alerts, [{ policy: 'day', used: 86, limit: 100, resetAt: DAY_END + 86_400_000 }]);
    await Promise.all([a.alerts.flush(), b.alerts.flush()]);
    const all = [...a.log.alerts(), ...b.log.alerts()];
    expect(all.map((e) => e.windowResetAt).sort()).toEqual(['2026-01-16T00:00:00.000Z', '2026-01-17T00:00:00.000Z']);
  });

  it('steady traffic over a threshold costs no Redis command after the first crossing', async () => {
    const { a } = await twoInstances();
    const admin = await connect();
    const before = await setCalls(admin);
    for (let i = 0; i < 1000; i += 1) observe(a.alerts, day(90 + (i % 10)));
    for (let i = 0; i < 1000; i += 1) observe(a.alerts, day(40)); // under 80%: nothing at all
    await a.alerts.flush();
    // One SET NX for the 80% crossing; INFO itself is not a SET.
    expect((await setCalls(admin)) - before).toBe(1);
    expect(a.log.alerts()).toHaveLength(1);
  });

  it('still sends the alert when Redis is down (a duplicate beats a missed alert)', async () => {
    const { a } = await twoInstances();
    await server.kill();
    try {
      // Let the client notice the dead connection (no offline queue: commands then fail at once).
      const redis = clients[clients.length - 2]!;
      for (let i = 0; i < 100 && redis.status === 'ready'; i += 1) await new Promise((r) => setTimeout(r, 20));
      observe(a.alerts, day(95));
      await a.alerts.flush();
      expect(a.log.alerts().map((e) => e.threshold)).toEqual([80]);
      expect(a.log.lines.some((l) => l.msg === 'alert dedupe in Redis failed; sending anyway')).toBe(true);
    } finally {
      await server.restart();
    }
  });
});
