import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryLimitStore } from '../../../src/limits/store/memory-store.js';
import { createRedisLimitStoreForTests } from '../../../src/limits/store/redis-store.js';
import type { Dimension, LimitStore } from '../../../src/limits/store/types.js';
import { InvalidDimensionError } from '../../../src/limits/store/validate.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createRedis } from '../../../src/stores/redis.js';
import { startTestCluster, type TestCluster } from '../../support/redis-cluster.js';
import { startTestRedis, type TestRedis } from '../../support/redis-server.js';
import { admittedBetween, calendar, fakeClock, freshPrefix, maxInAnyWindow, prng, refusedNames, sliding, type Admission } from './helpers.js';

/**
 * One behavioural suite, run against the memory store and against the Redis script with a
 * driven clock (the test-only factory: the script takes the time from the test instead of
 * Redis TIME). redis-store.test.ts covers the real clock, instances, restarts and memory.
 */
interface Backend {
  name: string;
  start(): Promise<{ make(now: () => number): LimitStore; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'memory store',
    start: async () => ({ make: (now) => createMemoryLimitStore({ now }), close: async () => {} }),
  },
  {
    name: 'redis store (driven clock)',
    start: async () => {
      const server: TestRedis = await startTestRedis();
      const redis = new Redis(server.url);
      return {
        make: (now) => createRedisLimitStoreForTests({ redis, now }),
        close: async () => {
          redis.disconnect();
          await server.stop();
        },
      };
    },
  },
  {
    // Each test's keys share one tag (freshPrefix), so each lands on whichever master owns it.
    name: 'redis store on a 3-master cluster (driven clock)',
    start: async () => {
      const cluster: TestCluster = await startTestCluster();
      const redis = createRedis({ cluster: { nodes: cluster.nodes.map((n) => n.address), tls: false } }, createLogger({ level: 'silent' }));
      await new Promise((resolve) => redis.once('ready', resolve));
      return {
        make: (now) => createRedisLimitStoreForTests({ redis, now }),
        close: async () => {
          redis.disconnect();
          await cluster.stop();
        },
      };
    },
  },
];

// 2026-11-22T12:00:05.000Z: 5 s into a 10 s sub-bucket.
const T0 = Date.UTC(2026, 10, 22, 12, 0, 5);

describe.each(backends)('$name', (backend) => {
  let harness: Awaited<ReturnType<Backend['start']>>;
  beforeAll(async () => {
    harness = await backend.start();
  });
  afterAll(async () => {
    await harness.close();
  });

  function setup(start = T0) {
    const clock = fakeClock(start);
    return { clock, store: harness.make(clock.now), prefix: freshPrefix() };
  }

  it('allows up to the limit, then refuses with the dimension, retryAfterMs and resetAt', async () => {
    const { clock, store, prefix } = setup();
    const rpm = sliding(`${prefix}:rpm`); // 3 per 60 s, 6 sub-buckets of 10 s
    for (let i = 1; i <= 3; i++) {
      const decision = await store.consume([rpm]);
      expect(decision).toEqual({
        allowed: true,
        now: T0,
        // The i-th call of the test's hash tag (every key here shares one: its counter is the script's).
        seq: i,
        // The oldest charge leaves the rolling window (now - 60 s, now] exactly 60 s after it was made.
        results: [{ name: 'tenant-rpm', limit: 3, used: i, remaining: 3 - i, resetAt: T0 + 60_000, retryAfterMs: 0, allowed: true }],
      });
    }
    const refused = await store.consume([rpm]);
    expect(refused.allowed).toBe(false);
    expect(refusedNames(refused)).toEqual(['tenant-rpm']);
    expect(refused.results[0]).toEqual({
      name: 'tenant-rpm',
      limit: 3,
      used: 3,
      remaining: 0,
      resetAt: T0 + 60_000,
      retryAfterMs: 60_000,
      allowed: false,
    });

    clock.advance(59_999);
    const stillRefused = await store.consume([rpm]);
    expect(stillRefused.allowed).toBe(false);
    expect(stillRefused.results[0]!.retryAfterMs).toBe(1);

    clock.advance(1);
    const again = await store.consume([rpm]);
    expect(again.allowed).toBe(true);
    expect(again.results[0]!.used).toBe(1);
  });

  it('is all or nothing: when one dimension refuses, no dimension is charged', async () => {
    const { store, prefix } = setup();
    const tenant = sliding(`${prefix}:tenant`, { name: 'tenant', limit: 10 });
    const key = sliding(`${prefix}:key`, { name: 'api-key', limit: 1 });
    expect((await store.consume([tenant, key])).allowed).toBe(true);

    const refused = await store.consume([tenant, key]);
    expect(refused.allowed).toBe(false);
    expect(refusedNames(refused)).toEqual(['api-key']);
    // The tenant dimension passed on its own, but was not charged.
    expect(refused.results[0]).toMatchObject({ name: 'tenant', allowed: true, used: 1, remaining: 9, retryAfterMs: 0 });
    const peeked = await store.peek([tenant]);
    expect(peeked.results[0]!.used).toBe(1);
    // Nine more tenant requests fit: the refused one took nothing.
    for (let i = 0; i < 9; i++) expect((await store.consume([tenant])).allowed).toBe(true);
    expect((await store.consume([tenant])).allowed).toBe(false);
  });

  it('does not count refused requests against later windows', async () => {
    const { clock, store, prefix } = setup();
    const rpm = sliding(`${prefix}:rpm`, { limit: 2, windowMs: 10_000, buckets: 10 });
    expect((await store.consume([rpm])).allowed).toBe(true);
    expect((await store.consume([rpm])).allowed).toBe(true);
    let lastRefusal = await store.consume([rpm]);
    for (let i = 0; i < 8; i++) {
      clock.advance(1000);
      const decision = await store.consume([rpm]);
      expect(decision.allowed).toBe(false);
      lastRefusal = decision;
    }
    // Once the two admitted charges leave the window, the full limit is back.
    clock.advance(lastRefusal.results[0]!.retryAfterMs);
    expect((await store.consume([rpm])).results[0]).toMatchObject({ allowed: true, used: 1 });
    expect((await store.consume([rpm])).results[0]).toMatchObject({ allowed: true, used: 2 });
  });

  it('keeps results in input order and reports every dimension', async () => {
    const { store, prefix } = setup();
    const dims: Dimension[] = [
      sliding(`${prefix}:a`, { name: 'a', limit: 5 }),
      calendar(`${prefix}:b`, { name: 'b', limit: 0 }),
      sliding(`${prefix}:c`, { name: 'c', limit: 0 }),
    ];
    const decision = await store.consume(dims);
    expect(decision.results.map((r) => [r.name, r.allowed])).toEqual([
      ['a', true],
      ['b', false],
      ['c', false],
    ]);
  });

  it('charges cost amounts greater than 1', async () => {
    const { store, prefix } = setup();
    const cost = sliding(`${prefix}:cost`, { name: 'cost', limit: 10, amount: 4 });
    expect((await store.consume([cost])).results[0]).toMatchObject({ allowed: true, used: 4, remaining: 6 });
    expect((await store.consume([cost])).results[0]).toMatchObject({ allowed: true, used: 8, remaining: 2 });
    const refused = await store.consume([cost]);
    expect(refused.results[0]).toMatchObject({ allowed: false, used: 8, remaining: 2 });
    expect((await store.consume([{ ...cost, amount: 2 }])).results[0]).toMatchObject({ allowed: true, used: 10, remaining: 0 });
  });

  it('refuses an amount above the limit with retryAfterMs = the window, charging nothing', async () => {
    const { store, prefix } = setup();
    const cost = sliding(`${prefix}:cost`, { name: 'cost', limit: 10, amount: 11 });
    const refused = await store.consume([cost]);
    expect(refused.results[0]).toEqual({
      name: 'cost',
      limit: 10,
      used: 0,
      remaining: 10,
      resetAt: T0,
      retryAfterMs: 60_000,
      allowed: false,
    });
    expect((await store.consume([{ ...cost, amount: 10 }])).allowed).toBe(true);
  });

  it('treats a limit of 0 as no access', async () => {
    const { store, prefix } = setup();
    const none = sliding(`${prefix}:none`, { name: 'no-access', limit: 0 });
    const refused = await store.consume([none]);
    expect(refused.allowed).toBe(false);
    expect(refused.results[0]).toMatchObject({ used: 0, remaining: 0, retryAfterMs: 60_000 });
    expect((await store.consume([{ ...none, checkOnly: true }])).allowed).toBe(false);
  });

  it('checkOnly allows while used < limit and consumes nothing; late additions count', async () => {
    const { clock, store, prefix } = setup();
    const bytes = sliding(`${prefix}:bytes`, { name: 'bytes', limit: 1000, windowMs: 3_600_000, buckets: 60, amount: 1, checkOnly: true });
    const first = await store.consume([bytes]);
    expect(first.results[0]).toMatchObject({ allowed: true, used: 0, remaining: 1000 });

    await store.adjust([{ dimension: bytes, at: first.now, delta: 999 }]);
    expect((await store.consume([bytes])).results[0]).toMatchObject({ allowed: true, used: 999, remaining: 1 });

    clock.advance(60_000); // the next 1-minute sub-bucket
    await store.adjust([{ dimension: bytes, at: clock.t, delta: 500 }]); // may go past the limit
    const refused = await store.consume([bytes]);
    expect(refused.results[0]).toMatchObject({ allowed: false, used: 1499, remaining: 0 });
    // 1499 - 999 < 1000 once the first addition (at T0) is an hour old.
    expect(refused.results[0]!.retryAfterMs).toBe(T0 + 3_600_000 - clock.t);
    expect(refused.results[0]!.resetAt).toBe(T0 + 3_600_000);
  });

  it('adjust refunds to the charged sub-bucket, never below 0, and adds to the current one', async () => {
    const { clock, store, prefix } = setup();
    const cost = sliding(`${prefix}:cost`, { name: 'cost', limit: 100, amount: 30 });
    const first = await store.consume([cost]);
    clock.advance(20_000); // two sub-buckets later
    await store.consume([{ ...cost, amount: 10 }]);
    expect((await store.peek([cost])).results[0]!.used).toBe(40);

    await store.adjust([{ dimension: cost, at: first.now, delta: -25 }]);
    expect((await store.peek([cost])).results[0]!.used).toBe(15);
    // Refunding more than was charged in that sub-bucket stops at 0 and leaves the others alone.
    await store.adjust([{ dimension: cost, at: first.now, delta: -1000 }]);
    expect((await store.peek([cost])).results[0]!.used).toBe(10);
    // The emptied sub-bucket no longer decides resetAt: the later charge does.
    expect((await store.peek([cost])).results[0]!.resetAt).toBe(T0 + 20_000 + 60_000);

    await store.adjust([
      { dimension: cost, at: first.now, delta: 7 },
      { dimension: cost, at: first.now, delta: 3 },
    ]);
    expect((await store.peek([cost])).results[0]!.used).toBe(20);
  });

  it('adjust does nothing for a refund whose sub-bucket left the window', async () => {
    const { clock, store, prefix } = setup();
    const cost = sliding(`${prefix}:cost`, { name: 'cost', limit: 100, amount: 30, windowMs: 10_000, buckets: 10 });
    const old = await store.consume([cost]);
    clock.advance(11_000); // b0 is now b - 11: outside the N + 1 counted sub-buckets
    await store.consume([{ ...cost, amount: 5 }]);
    await store.adjust([{ dimension: cost, at: old.now, delta: -30 }]);
    expect((await store.peek([cost])).results[0]!.used).toBe(5);
  });

  it('replays admissions at their own time: they count until one window after it, and not at all once older', async () => {
    const { clock, store, prefix } = setup();
    const rpm = sliding(`${prefix}:rpm`, { limit: 5 });
    const day = calendar(`${prefix}:day`, { limit: 10 });
    clock.advance(30_000);
    // Three admissions made elsewhere 20 s ago, one 70 s ago (already out of the window).
    await store.adjust([
      { dimension: rpm, at: clock.t - 20_000, delta: 3, placement: 'at' },
      { dimension: rpm, at: clock.t - 70_000, delta: 1, placement: 'at' },
      { dimension: day, at: clock.t - 20_000, delta: 4, placement: 'at' },
      // Yesterday's admissions do not count against today's quota.
      { dimension: day, at: clock.t - 86_400_000, delta: 5, placement: 'at' },
    ]);
    const now = await store.peek([rpm, day]);
    expect(now.results.map((r) => r.used)).toEqual([3, 4]);
    expect(now.results[0]!.resetAt).toBe(clock.t - 20_000 + 60_000);
    clock.advance(40_000 - 1);
    expect((await store.peek([rpm])).results[0]!.used).toBe(3);
    clock.advance(1);
    expect((await store.peek([rpm])).results[0]!.used).toBe(0);
    // A replay stamped in the future (clock skew) counts from now.
    await store.adjust([{ dimension: rpm, at: clock.t + 5_000, delta: 2, placement: 'at' }]);
    expect((await store.peek([rpm])).results[0]).toMatchObject({ used: 2, resetAt: clock.t + 60_000 });
    // A calendar refund takes back within the period, never below 0.
    await store.adjust([{ dimension: day, at: clock.t, delta: -100 }]);
    expect((await store.peek([day])).results[0]!.used).toBe(0);
  });

  it('a check carrying settles applies them first, in the same call, whatever it decides', async () => {
    const { clock, store, prefix } = setup();
    const rpm = sliding(`${prefix}:rpm`, { limit: 10 });
    const cost = sliding(`${prefix}:cost`, { name: 'cost', limit: 100, amount: 60 });
    const bytes = sliding(`${prefix}:bytes`, { name: 'bytes', limit: 1000, windowMs: 3_600_000, buckets: 60, amount: 0, checkOnly: true });
    const first = await store.consume([rpm, cost, bytes]);
    expect(first.allowed).toBe(true);
    clock.advance(10_000); // the next sub-bucket

    // The first request's refund (it cost 5, not 60) and bytes ride on the second check, which
    // only fits in the cost budget because the refund comes first; the bytes are counted.
    const settle = [
      { dimension: cost, at: first.now, delta: -55 },
      { dimension: bytes, at: first.now, delta: 999 },
    ];
    const second = await store.consume([rpm, cost, bytes], settle);
    expect(second.allowed).toBe(true);
    expect(second.results.map((r) => r.used)).toEqual([2, 65, 999]);
    // The refund went to the first charge's sub-bucket: it leaves the window with it.
    expect(second.results[1]!.resetAt).toBe(first.now + 60_000);

    // Settles apply even when the check they ride on refuses (they belong to admitted requests),
    // and a refused check still consumes nothing.
    const third = await store.consume([rpm, { ...cost, amount: 30 }, bytes], [{ dimension: bytes, at: second.now, delta: 1 }]);
    expect(third.allowed).toBe(false);
    expect(refusedNames(third)).toEqual(['bytes']);
    expect(third.results.map((r) => r.used)).toEqual([2, 65, 1000]);

    // A peek carries them too, and writes nothing else.
    const peeked = await store.peek([rpm, cost], [{ dimension: cost, at: second.now, delta: -60 }]);
    expect(peeked.results.map((r) => r.used)).toEqual([2, 5]);
    expect((await store.peek([rpm, cost, bytes])).results.map((r) => r.used)).toEqual([2, 5, 1000]);
  });

  it('peek reports usage and the verdict without consuming', async () => {
    const { store, prefix } = setup();
    const rpm = sliding(`${prefix}:rpm`, { limit: 1 });
    const before = await store.peek([rpm]);
    expect(before).toEqual({
      allowed: true,
      now: T0,
      seq: 1,
      results: [{ name: 'tenant-rpm', limit: 1, used: 0, remaining: 1, resetAt: T0, retryAfterMs: 0, allowed: true }],
    });
    await store.peek([rpm]);
    expect((await store.consume([rpm])).allowed).toBe(true);
    const after = await store.peek([rpm]);
    expect(after.allowed).toBe(false);
    expect(after.results[0]).toMatchObject({ used: 1, remaining: 0, allowed: false });
  });

  it('enforces a day quota in the tenant time zone and resets at local midnight', async () => {
    // 2026-11-23T03:30Z is 22:30 on Nov 22 at UTC-05:00; local midnight is 2026-11-23T05:00Z.
    const start = Date.UTC(2026, 10, 23, 3, 30);
    const midnight = Date.UTC(2026, 10, 23, 5, 0);
    const { clock, store, prefix } = setup(start);
    const day = calendar(`${prefix}:day`, { limit: 2, utcOffsetMinutes: -300 });
    expect((await store.consume([day])).results[0]).toEqual({
      name: 'tenant-day',
      limit: 2,
      used: 1,
      remaining: 1,
      resetAt: midnight,
      retryAfterMs: 0,
      allowed: true,
    });
    expect((await store.consume([day])).allowed).toBe(true);
    const refused = await store.consume([day]);
    expect(refused.results[0]).toMatchObject({ allowed: false, used: 2, resetAt: midnight, retryAfterMs: midnight - start });

    clock.t = midnight - 1;
    expect((await store.consume([day])).allowed).toBe(false);
    clock.t = midnight;
    expect((await store.consume([day])).results[0]).toMatchObject({
      allowed: true,
      used: 1,
      resetAt: Date.UTC(2026, 10, 24, 5, 0),
    });
  });

  it('enforces a month quota across a leap day at a positive offset', async () => {
    // 2024-02-29T20:00Z is 01:30 on March 1 at UTC+05:30: the March quota, not February's.
    const start = Date.UTC(2024, 1, 29, 20, 0);
    const aprilLocal = Date.UTC(2024, 2, 31, 18, 30); // 2024-04-01T00:00+05:30
    const { clock, store, prefix } = setup(Date.UTC(2024, 1, 29, 18, 0)); // Feb 29, 23:30 local
    const month = calendar(`${prefix}:month`, { name: 'tenant-month', period: 'month', limit: 3, utcOffsetMinutes: 330 });
    expect((await store.consume([{ ...month, amount: 3 }])).results[0]).toMatchObject({
      allowed: true,
      used: 3,
      resetAt: Date.UTC(2024, 1, 29, 18, 30), // March 1 local
    });
    clock.t = start;
    const march = await store.consume([month]);
    expect(march.results[0]).toMatchObject({ allowed: true, used: 1, resetAt: aprilLocal });
    const tooBig = await store.consume([{ ...month, amount: 4 }]);
    // Can never fit: retry after the length of the period (March: 31 days).
    expect(tooBig.results[0]).toMatchObject({ allowed: false, used: 1, retryAfterMs: 31 * 86_400_000 });
  });

  it('combines sliding and calendar dimensions all or nothing', async () => {
    const { store, prefix } = setup();
    const rpm = sliding(`${prefix}:rpm`, { limit: 100 });
    const day = calendar(`${prefix}:day`, { limit: 1 });
    expect((await store.consume([rpm, day])).allowed).toBe(true);
    const refused = await store.consume([rpm, day]);
    expect(refusedNames(refused)).toEqual(['tenant-day']);
    expect((await store.peek([rpm])).results[0]!.used).toBe(1);
  });

  it('admits exactly the limit out of 400 concurrent calls', async () => {
    const { store, prefix } = setup();
    const rpm = sliding(`${prefix}:rpm`, { limit: 100 });
    const decisions = await Promise.all(Array.from({ length: 400 }, () => store.consume([rpm])));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    expect((await store.peek([rpm])).results[0]!.used).toBe(100);
  });

  it.each([
    { windowMs: 10_000, buckets: 10 },
    { windowMs: 10_000, buckets: 7 }, // g = ceil(10000 / 7) = 1429 ms
  ])('never admits more than the limit in any rolling window, and stays close to it ($windowMs ms / $buckets)', async ({ windowMs, buckets }) => {
    const { clock, store, prefix } = setup();
    const limit = 20;
    const g = Math.ceil(windowMs / buckets);
    const dim = sliding(`${prefix}:rolling`, { name: 'rolling', limit, windowMs, buckets });
    const random = prng(42);
    const admitted: Admission[] = [];
    const refused: Admission[] = [];
    const start = clock.t;
    for (let i = 0; i < 2500; i++) {
      // Bursty arrivals: mostly close together, sometimes long pauses; ~6x the limit overall.
      clock.advance(random() < 0.05 ? Math.floor(random() * 5000) : Math.floor(random() * 80));
      const amount = 1 + Math.floor(random() * 3);
      const decision = await store.consume([{ ...dim, amount }]);
      (decision.allowed ? admitted : refused).push({ at: decision.now, amount });
    }
    expect(refused.length).toBeGreaterThan(1000); // the limit really was under pressure

    // The guarantee: no closed window [s, s + W] (s = every admission) holds more than the limit.
    expect(maxInAnyWindow(admitted, windowMs)).toBeLessThanOrEqual(limit);
    // The error bound: a refusal at t means more than limit - amount was admitted in
    // (t - W - g, t]: at most one sub-bucket's span beyond the window was counted.
    for (const r of refused) {
      expect(admittedBetween(admitted, r.at - windowMs - g, r.at) + r.amount).toBeGreaterThan(limit);
    }
    // Throughput: on average close to N / (N + 1) of the limit per window.
    const windows = (clock.t - start) / windowMs;
    const perWindow = admitted.reduce((sum, a) => sum + a.amount, 0) / windows;
    expect(perWindow).toBeGreaterThan(0.75 * limit);
    expect(perWindow).toBeLessThanOrEqual(limit);
  });

  it.each([
    // Requests every 10 ms (6x the limit) and evenly spaced at 2x the limit.
    { name: 'saturating', gapMs: 10, atLeast: 1.0 },
    { name: 'steady 2x overload', gapMs: 30, atLeast: 0.97 },
  ])('admits close to the whole limit per window under $name traffic, never more', async ({ gapMs, atLeast }) => {
    const { clock, store, prefix } = setup();
    const windowMs = 6_000;
    const limit = 100;
    // The production geometry, scaled: 30 sub-buckets per window.
    const dim = sliding(`${prefix}:steady`, { name: 'steady', limit, windowMs, buckets: 30 });
    const admitted: Admission[] = [];
    const warmUp = clock.t + 2 * windowMs;
    const end = warmUp + 20 * windowMs;
    while (clock.t < end) {
      clock.advance(gapMs);
      if ((await store.consume([dim])).allowed) admitted.push({ at: clock.t, amount: 1 });
    }
    expect(maxInAnyWindow(admitted, windowMs)).toBeLessThanOrEqual(limit);
    const steady = admitted.filter((a) => a.at > warmUp).length / 20;
    expect(steady).toBeGreaterThanOrEqual(atLeast * limit);
  });

  it.each([
    { windowMs: 1000, buckets: 4 },
    { windowMs: 1000, buckets: 3 }, // g = 334 ms, N * g = 1002 ms
  ])('refuses a request until exactly one window after an admission, at every phase ($windowMs ms / $buckets)', async ({ windowMs, buckets }) => {
    const { clock, store, prefix } = setup();
    const g = Math.ceil(windowMs / buckets);
    for (let phase = 0; phase <= g + 1; phase++) {
      const dim = sliding(`${prefix}:phase${phase}`, { limit: 1, windowMs, buckets });
      clock.t = T0 + phase;
      expect((await store.consume([dim])).allowed).toBe(true);
      clock.t += windowMs - 1; // the admission is still inside (now - W, now]
      const refused = await store.consume([dim]);
      expect(refused.allowed, `phase ${phase}`).toBe(false);
      expect(refused.results[0]!.retryAfterMs, `phase ${phase}`).toBe(1);
      clock.t += 1; // one window after the admission: it no longer counts
      expect((await store.consume([dim])).allowed, `phase ${phase}`).toBe(true);
    }
  });

  describe('input validation (thrown before any state is touched)', () => {
    const cases: Array<[string, Dimension, string]> = [
      ['limit < 0', sliding('k', { limit: -1 }), 'limit dimension "tenant-rpm": limit must be a non-negative integer: -1'],
      ['buckets < 1', sliding('k', { buckets: 0 }), 'limit dimension "tenant-rpm": buckets must be an integer from 1 to 1000: 0'],
      ['buckets > 1000', sliding('k', { buckets: 1001 }), 'limit dimension "tenant-rpm": buckets must be an integer from 1 to 1000: 1001'],
      ['windowMs 0', sliding('k', { windowMs: 0, buckets: 1 }), 'limit dimension "tenant-rpm": windowMs must be a positive integer: 0'],
      ['fractional amount', sliding('k', { amount: 1.5 }), 'limit dimension "tenant-rpm": amount must be a non-negative integer: 1.5'],
      ['empty key', sliding(''), 'limit dimension "tenant-rpm": key must be a non-empty string: ""'],
      ['empty name', sliding('k', { name: '' }), 'limit dimension #0: name must be a non-empty string: ""'],
      ['bad period', calendar('k', { period: 'week' as 'day' }), 'limit dimension "tenant-day": period must be "day" or "month": "week"'],
      [
        'offset out of range',
        calendar('k', { utcOffsetMinutes: 900 }),
        'limit dimension "tenant-day": utcOffsetMinutes must be an integer from -720 to 840: 900',
      ],
      ['bad kind', { ...sliding('k'), kind: 'fixed' } as unknown as Dimension, 'limit dimension "tenant-rpm": kind must be "sliding" or "calendar": "fixed"'],
    ];
    it.each(cases)('%s', async (_label, dimension, message) => {
      const { store } = setup();
      await expect(store.consume([dimension])).rejects.toThrow(new InvalidDimensionError(message));
      await expect(store.peek([dimension])).rejects.toThrow(new InvalidDimensionError(message));
    });

    it('rejects two dimensions sharing a key', async () => {
      const { store } = setup();
      await expect(store.consume([sliding('k', { name: 'a' }), calendar('k', { name: 'b' })])).rejects.toThrow(
        new InvalidDimensionError('limit dimension "b": key "k" is already used by limit dimension "a" in this check'),
      );
    });

    it('rejects bad adjustments', async () => {
      const { store } = setup();
      await expect(store.adjust([{ dimension: sliding('k'), at: T0, delta: 0.5 }])).rejects.toThrow(
        new InvalidDimensionError('limit dimension "tenant-rpm": adjustment delta must be an integer: 0.5'),
      );
      await expect(store.adjust([{ dimension: sliding('k', { buckets: -2 }), at: T0, delta: 1 }])).rejects.toThrow(
        new InvalidDimensionError('limit dimension "tenant-rpm": buckets must be an integer from 1 to 1000: -2'),
      );
      await expect(store.adjust([{ dimension: calendar('k'), at: T0, delta: 1, placement: 'later' as never }])).rejects.toThrow(
        new InvalidDimensionError('limit dimension "tenant-day": adjustment placement must be "at" or "now": "later"'),
      );
    });
  });
});
