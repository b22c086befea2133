import { Redis } from 'ioredis';
import { beforeEach, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/stores/redis.js';
import { createMeter } from '../../src/usage/meter.js';
import { createRedisUsageStore } from '../../src/usage/redis-usage-store.js';
import { tenantForecasts } from '../../src/usage/tenant-forecast.js';
import type { UsageEvent } from '../../src/usage/event.js';
import { startTestRedis, useTestRedis } from '../support/redis-server.js';
import { DAY, MINUTE, T0, commandCalls, delta, event, meterInto, silent } from './helpers.js';

const local = useTestRedis();
beforeEach(async () => {
  await local.client.flushall();
});

/** Counts `pipeline()` calls on a client (each is one batch on the wire). */
function countPipelines(client: Redis): { count: number } {
  const counter = { count: 0 };
  const original = client.pipeline.bind(client);
  client.pipeline = ((...args: Parameters<typeof original>) => {
    counter.count += 1;
    return original(...args);
  }) as typeof client.pipeline;
  return counter;
}

const waitFor = async (check: () => Promise<boolean>, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
};

const totalRequests = async (tenantId: string) =>
  (await createRedisUsageStore({ redis: local.client, now: () => T0 }).history({ tenantId, granularity: 'day', from: T0, to: T0 }))[0]!.requests;

describe('key layout and retention', () => {
  it('writes exactly the documented keys, each a small listpack hash of non-zero fields, with the TTL of its granularity', async () => {
    await meterInto(createRedisUsageStore({ redis: local.client }), [event({ at: T0 + 10_000, latencyMs: 10, rootFields: ['Query.customers'] })]);
    const days = (n: number) => n * DAY;
    const expected: Record<string, number | null> = {
      'usage:{acme}:m:202611221530': days(30),
      'usage:{acme}:h:2026112215': days(365),
      'usage:{acme}:d:20261122': null,
      'usage:{acme}:mo:202611': null,
      'usage:{acme}:c:key-1:m:202611221530': days(2),
      'usage:{acme}:c:key-1:h:2026112215': days(30),
      'usage:{acme}:c:key-1:d:20261122': null,
      'usage:{acme}:c:key-1:mo:202611': null,
      'usage:{acme}:f:Query.customers:m:202611221530': days(2),
      'usage:{acme}:f:Query.customers:h:2026112215': days(30),
      'usage:{acme}:f:Query.customers:d:20261122': null,
      'usage:{acme}:f:Query.customers:mo:202611': null,
      'usage:{acme}:idx:d:20261122': null,
      'usage:{acme}:idx:mo:202611': null,
      'usage:{_fleet}:p:pro:m:202611221530': days(30),
      'usage:{_fleet}:p:pro:h:2026112215': days(365),
      'usage:{_fleet}:p:pro:d:20261122': null,
      'usage:{_fleet}:p:pro:mo:202611': null,
      'usage:{_fleet}:f:Query.customers:m:202611221530': days(30),
      'usage:{_fleet}:f:Query.customers:h:2026112215': days(365),
      'usage:{_fleet}:f:Query.customers:d:20261122': null,
      'usage:{_fleet}:f:Query.customers:mo:202611': null,
      'usage:{_fleet}:idx:h:2026112215': days(2),
      'usage:{_fleet}:idx:d:20261122': null,
      'usage:{_fleet}:idx:mo:202611': null,
    };
    expect((await local.client.keys('*')).sort()).toEqual(Object.keys(expected).sort());
    for (const [key, ttl] of Object.entries(expected)) {
      const pttl = await local.client.pttl(key);
      if (ttl === null) expect(pttl, key).toBe(-1);
      else {
        expect(pttl, key).toBeLessThanOrEqual(ttl);
        expect(pttl, key).toBeGreaterThan(ttl - 10_000);
      }
      expect(await local.client.object('ENCODING', key), key).toBe('listpack');
    }
    // ok is requests - errors - throttled; zero counters are not stored.
    expect(await local.client.hgetall('usage:{acme}:m:202611221530')).toEqual({ r: '1', ls: '10000', l3: '1' });
    expect(await local.client.hgetall('usage:{acme}:idx:d:20261122')).toEqual({ 'c:key-1': '1', 'f:Query.customers': '1' });
    expect(await local.client.hgetall('usage:{_fleet}:idx:h:2026112215')).toEqual({ 't:acme': 'pro' });
  });

  it("refreshes a bucket's TTL on each write, so a late retry never leaves a key without expiry", async () => {
    const store = createRedisUsageStore({ redis: local.client });
    await meterInto(store, [event()]);
    await local.client.pexpire('usage:{acme}:m:202611221530', 5000);
    await meterInto(store, [event()]);
    expect(await local.client.pttl('usage:{acme}:m:202611221530')).toBeGreaterThan(29 * DAY);
    expect(await local.client.hget('usage:{acme}:m:202611221530', 'r')).toBe('2');
  });
});

describe('flush', () => {
  const burst = (n: number): UsageEvent[] =>
    Array.from({ length: n }, (_, i) =>
      event({
        at: T0 + (i % 2) * MINUTE + 1000,
        tenantId: i % 4 === 0 ? 'globex' : 'acme',
        clientId: `key-${i % 3}`,
        rootFields: i % 2 ? ['Query.customers', 'Query.product'] : ['Query.customers'],
        status: i % 10 === 0 ? 'throttled' : 'ok',
        throttledBy: i % 10 === 0 ? 'requests' : null,
        latencyMs: i % 300,
        responseBytes: 100,
      }),
    );

  it('writes 1,000 events in one pipeline of one script call per tenant, with commands independent of the event count', async () => {
    const client = new Redis(local.server.url);
    try {
      const pipelines = countPipelines(client);
      const meter = createMeter({ store: createRedisUsageStore({ redis: client }), logger: silent, intervalMs: 3_600_000 });
      const commandsFor = async (events: UsageEvent[]) => {
        for (const e of events) meter.record(e);
        const before = await commandCalls(local.client);
        const pipelinesBefore = pipelines.count;
        await meter.flush();
        const after = await commandCalls(local.client);
        return { pipelines: pipelines.count - pipelinesBefore, commands: delta(before, after) };
      };
      const thousand = await commandsFor(burst(1000));
      expect(thousand.pipelines).toBe(1);
      // Two tenants and the fleet: three script calls (the first on a connection is sent as EVAL).
      expect((thousand.commands.evalsha ?? 0) + (thousand.commands.eval ?? 0)).toBe(3);
      expect(thousand.commands.hincrby).toBeLessThan(1000);
      const tenThousand = await commandsFor(burst(10_000));
      expect(tenThousand.pipelines).toBe(1);
      expect(tenThousand.commands.hincrby).toBe(thousand.commands.hincrby);
      expect((await totalRequests('acme')) + (await totalRequests('globex'))).toBe(11_000);
      await meter.close();
    } finally {
      client.disconnect();
    }
  });

  it('sums exactly what two gateway instances metered concurrently', async () => {
    const clients = [new Redis(local.server.url), new Redis(local.server.url)];
    try {
      const meters = clients.map((client) => createMeter({ store: createRedisUsageStore({ redis: client }), logger: silent, intervalMs: 5 }));
      for (let round = 0; round < 20; round++) {
        for (const meter of meters) for (const e of burst(50)) meter.record(e);
        await new Promise((r) => setTimeout(r, 3));
      }
      await Promise.all(meters.map((meter) => meter.close()));
      expect((await totalRequests('acme')) + (await totalRequests('globex'))).toBe(2000);
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  it('flushes on its timer and on close(), so a clean shutdown loses nothing', async () => {
    const meter = createMeter({ store: createRedisUsageStore({ redis: local.client }), logger: silent, intervalMs: 50 });
    meter.record(event());
    await waitFor(async () => (await totalRequests('acme')) === 1);
    expect(meter.stats()).toMatchObject({ buffered: 0, failedFlushes: 0 });
    expect(meter.stats().lastFlushAt).not.toBeNull();
    for (let i = 0; i < 7; i++) meter.record(event());
    await meter.close();
    expect(await totalRequests('acme')).toBe(8);
  });
});

describe('reads', () => {
  it("answers a tenant's forecast with one small HMGET per bucket it needs, decoding no whole bucket", async () => {
    const store = createRedisUsageStore({ redis: local.client, now: () => T0 });
    await meterInto(store, [event({ rootFields: ['Query.customers'] }), event({ rootFields: ['Query.usage'] })]);
    const pipelines = countPipelines(local.client);
    const before = await commandCalls(local.client);
    const views = await tenantForecasts({ usage: store, tenantId: 'acme', windows: [], now: T0 });
    const commands = delta(before, await commandCalls(local.client));
    delete commands.info;
    // The tenant and its two free root fields (Query.usage, Query.rateLimit): a week of hours
    // and one (T0 is 15:30, so 7 x 24 + 1 buckets), and the days of the month so far (22).
    expect(commands).toEqual({ hmget: 3 * (7 * 24 + 1) + 3 * 22 });
    expect(pipelines.count).toBe(2);
    // The free usage query is not part of the pace or of the month's use.
    expect(views.find((v) => v.metric === 'requests' && v.period === 'month')?.used).toBe(1);
  });
});

describe('Redis failures', () => {
  it('keeps the aggregates while Redis is down and writes them, exactly once, after it is back', async () => {
    const own = await startTestRedis();
    const client = createRedis(own.url, silent); // the gateway's connection: fails fast, no offline queue
    const reader = new Redis(own.url);
    reader.on('error', () => {});
    try {
      const store = createRedisUsageStore({ redis: client, now: () => T0 });
      const meter = createMeter({ store, logger: silent, intervalMs: 3_600_000 });
      for (let i = 0; i < 100; i++) meter.record(event({ clientId: `key-${i % 2}`, requestedCost: 1.5 }));
      await own.kill();
      await meter.flush(); // resolves: a failed flush never throws into the caller
      expect(meter.stats()).toMatchObject({ failedFlushes: 1, droppedEvents: 0, lastFlushAt: null });
      expect(meter.stats().buffered).toBeGreaterThan(0);
      for (let i = 0; i < 50; i++) meter.record(event({ clientId: 'key-0', requestedCost: 1.5 }));
      await meter.flush();
      expect(meter.stats().failedFlushes).toBe(2);

      await own.restart();
      await waitFor(async () => (await client.ping()) === 'PONG');
      await meter.flush();
      expect(meter.stats()).toMatchObject({ buffered: 0, failedFlushes: 2, droppedEvents: 0 });
      const [day] = await store.history({ tenantId: 'acme', granularity: 'day', from: T0, to: T0 });
      expect(day).toMatchObject({ requests: 150, requestedCost: 225 });
      const clients = await store.breakdown({ tenantId: 'acme', granularity: 'minute', from: T0, to: T0, by: 'client' });
      expect(clients.map((c) => [c.key, c.totals.requests])).toEqual([
        ['key-0', 100],
        ['key-1', 50],
      ]);
      expect((await store.plans({ granularity: 'day', from: T0, to: T0 }))[0]!.totals.requests).toBe(150);
      await meter.close();
    } finally {
      client.disconnect();
      reader.disconnect();
      await own.stop();
    }
  });

  it('retries only the tenant whose write failed: the others and the fleet totals are not counted twice', async () => {
    const store = createRedisUsageStore({ redis: local.client, now: () => T0 });
    const meter = createMeter({ store, logger: silent, intervalMs: 3_600_000 });
    // Something else wrote a string where globex's month index goes (the call's last key): its call fails, whole.
    await local.client.set('usage:{globex}:idx:mo:202611', 'not a hash');
    for (let i = 0; i < 30; i++) meter.record(event({ tenantId: i % 3 ? 'acme' : 'globex' }));
    await meter.flush();
    expect(meter.stats()).toMatchObject({ failedFlushes: 1, droppedEvents: 0 });
    expect(await totalRequests('acme')).toBe(20);
    expect(await local.client.exists('usage:{globex}:h:2026112215')).toBe(0); // nothing of globex's call was applied
    expect((await store.plans({ granularity: 'day', from: T0, to: T0 }))[0]!.totals.requests).toBe(30);

    await local.client.del('usage:{globex}:idx:mo:202611');
    await meter.flush();
    expect(await totalRequests('acme')).toBe(20);
    expect(await totalRequests('globex')).toBe(10);
    expect((await store.plans({ granularity: 'day', from: T0, to: T0 }))[0]!.totals.requests).toBe(30);
    expect((await store.tenants({ granularity: 'day', from: T0, to: T0 })).map((t) => [t.tenantId, t.totals.requests])).toEqual([
      ['acme', 20],
      ['globex', 10],
    ]);
    await meter.close();
  });
});
