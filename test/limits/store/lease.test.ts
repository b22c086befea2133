import { describe, expect, it } from 'vitest';
import { createRedisLimitStoreForTests } from '../../../src/limits/store/redis-store.js';
import type { Dimension, LeaseRequest } from '../../../src/limits/store/types.js';
import { useTestRedis } from '../../support/redis-server.js';
import { calendar, fakeClock, freshPrefix, maxInAnyWindow, prng, sliding, type Admission } from './helpers.js';

/**
 * The script's lease mode on a real redis-server, on a clock the tests move: what it reserves,
 * where it places the charge, when it refuses to lease, and that requests served from leases
 * (used at their own times, up to the lease's end) never exceed a limit in any rolling window.
 */
const local = useTestRedis();

const G = 2000; // sub-bucket width of a minute in 30
const LEASE: LeaseRequest = { tokens: 16, lifetimeMs: 1000, keepPermille: 250, sharePermille: 10 };
const minute = (key: string, limit: number, amount = 1): Dimension => sliding(key, { limit, amount, windowMs: 60_000, buckets: 30 });

/** A sliding key's sub-buckets as { id: [sum, last charge] }, checked against its total `t`. */
async function bucketsOf(key: string): Promise<Map<number, [number, number]>> {
  const fields = await local.client.hgetall(key);
  const out = new Map<number, [number, number]>();
  let total = 0;
  for (const [name, value] of Object.entries(fields)) {
    if (!/^\d+$/.test(name)) continue;
    const [sum, offset] = value.split(':').map(Number) as [number, number];
    out.set(Number(name), [sum, Number(name) * G + offset]);
    total += sum;
  }
  expect(Number(fields.t ?? 0)).toBe(total);
  return out;
}

describe('lease mode of the limit script', () => {
  it('admits the request and reserves more of its amounts, all charged at now + lifetime, at most sharePermille of each limit', async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 30, 12, 0, 0, 300));
    const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const prefix = freshPrefix();
    // 1 % of 1,000 requests is 10 (the request and 9 more); 1 % of 100,000 cost points at 7 each is 142.
    const dims = [minute(`${prefix}:req`, 1000), minute(`${prefix}:cost`, 100_000, 7)];
    const lease = await store.lease!(dims, [], LEASE);
    expect(lease.allowed).toBe(true);
    expect(lease.granted).toBe(9);
    expect(lease.chargedAt).toBe(clock.t + 1000);
    expect(lease.results.map((r) => r.used)).toEqual([10, 70]);
    // One sub-bucket each: the one of now + 1 s, last charged then (it counts until then + 1 min).
    const at = clock.t + 1000;
    expect(await bucketsOf(`${prefix}:req`)).toEqual(new Map([[Math.floor(at / G), [10, at]]]));
    expect(await bucketsOf(`${prefix}:cost`)).toEqual(new Map([[Math.floor(at / G), [70, at]]]));
    // Never more than asked.
    const few = await store.lease!(dims, [], { ...LEASE, tokens: 2 });
    expect(few.granted).toBe(2);
    expect(few.results[0]!.used).toBe(13);
  });

  it('leases nothing while less than keepPermille of a limit would stay unreserved, and still admits the request', async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 30, 12, 0, 0, 0));
    const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const key = `${freshPrefix()}:req`;
    // 740 of 1,000 used: 250 must stay, so 10 may go (the request and 9 more), as the share allows.
    await store.consume([minute(key, 1000, 740)]);
    expect((await store.lease!([minute(key, 1000)], [], LEASE)).granted).toBe(9);
    // 750 used now: 250 left is exactly what must stay: the request alone, charged at now.
    clock.advance(10);
    const none = await store.lease!([minute(key, 1000)], [], LEASE);
    expect(none).toMatchObject({ allowed: true, granted: 0, chargedAt: clock.t });
    expect(none.results[0]!.used).toBe(751);
    // A refused request reserves nothing either.
    await store.consume([minute(key, 1000, 249)]);
    const refused = await store.lease!([minute(key, 1000)], [], LEASE);
    expect(refused).toMatchObject({ allowed: false, granted: 0 });
    expect(refused.results[0]!.used).toBe(1000);
  });

  it('leases nothing across the end of a calendar period, nor with a check-only dimension', async () => {
    const beforeMidnight = Date.UTC(2026, 10, 30, 23, 59, 59, 500);
    const clock = fakeClock(beforeMidnight);
    const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const prefix = freshPrefix();
    const day = calendar(`${prefix}:day`, { limit: 100_000 });
    // 1 s ahead is tomorrow: the charge must stay in today's period.
    const late = await store.lease!([minute(`${prefix}:req`, 1000), day], [], LEASE);
    expect(late).toMatchObject({ allowed: true, granted: 0, chargedAt: beforeMidnight });
    expect(await local.client.hgetall(`${prefix}:day`)).toEqual({ '20261130': '1' });
    // Earlier in the day it leases (and the day counts every reserved request).
    clock.t = Date.UTC(2026, 10, 30, 12, 0, 0, 0);
    const early = await store.lease!([minute(`${prefix}:req2`, 1000), calendar(`${prefix}:day2`, { limit: 100_000 })], [], LEASE);
    expect(early.granted).toBe(9);
    expect(await local.client.hgetall(`${prefix}:day2`)).toEqual({ '20261130': '10' });
    // Response bytes are checked per request (check-only): no lease unless bytes are reserved for them.
    const bytes = sliding(`${prefix}:bytes`, { limit: 1_000_000, amount: 0, checkOnly: true, windowMs: 3_600_000, buckets: 60 });
    expect((await store.lease!([minute(`${prefix}:req3`, 1000), bytes], [], LEASE)).granted).toBe(0);
    expect((await store.lease!([minute(`${prefix}:req3`, 1000), bytes], [], { ...LEASE, bytesPerRequest: 0 })).granted).toBe(0);
  });

  it('reserves bytesPerRequest on a check-only dimension for the request and every token, charged with them at now + lifetime, within share and keep', async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 30, 12, 0, 0, 300));
    const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const prefix = freshPrefix();
    const hour = (limit: number) => sliding(`${prefix}:bytes`, { limit, amount: 0, checkOnly: true, windowMs: 3_600_000, buckets: 60 });
    const req = minute(`${prefix}:req`, 100_000);
    // 1 % of 1,000,000 bytes at 2,000 a request is 5 requests: the request and 4 more (the request count would allow 999).
    const lease = await store.lease!([req, hour(1_000_000)], [], { ...LEASE, tokens: 64, bytesPerRequest: 2000 });
    expect(lease).toMatchObject({ allowed: true, granted: 4, chargedAt: clock.t + 1000 });
    expect(lease.results.map((r) => r.used)).toEqual([5, 10_000]);
    const at = clock.t + 1000;
    const g = 60_000;
    const fields = await local.client.hgetall(`${prefix}:bytes`);
    expect(fields[String(Math.floor(at / g))]).toBe(`10000:${at - Math.floor(at / g) * g}`);
    // The other instances' checks count the reservation at once: 990,000 more bytes then leave nothing.
    await store.adjust([{ dimension: hour(1_000_000), at: clock.t, delta: 990_000 }]);
    expect((await store.consume([hour(1_000_000)])).allowed).toBe(false);
    // Keep: with 800,000 of 1,000,000 used, a quarter must stay, so no bytes may be reserved (the request itself is admitted).
    const other = sliding(`${prefix}:bytes2`, { limit: 1_000_000, amount: 0, checkOnly: true, windowMs: 3_600_000, buckets: 60 });
    await store.adjust([{ dimension: other, at: clock.t, delta: 745_000 }]);
    const edge = await store.lease!([minute(`${prefix}:req2`, 100_000), other], [], { ...LEASE, bytesPerRequest: 1000 });
    // 255,000 left, 250,000 must stay: 5 requests' bytes, the request and 4 more.
    expect(edge).toMatchObject({ allowed: true, granted: 4 });
    const none = await store.lease!([minute(`${prefix}:req2`, 100_000), other], [], { ...LEASE, bytesPerRequest: 1000 });
    expect(none).toMatchObject({ allowed: true, granted: 0, chargedAt: clock.t });
    expect(none.results[1]!.used).toBe(750_000);
  });

  it('takes a refund back from the lease sub-bucket ahead of now, and a later charge never moves its last charge back', async () => {
    // 0.5 s into a sub-bucket: the lease's end (1 s on) is in the same sub-bucket.
    const clock = fakeClock(Math.floor(Date.UTC(2026, 10, 30, 12, 0, 0) / G) * G + 500);
    const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const key = `${freshPrefix()}:req`;
    const dims = [minute(key, 1000)];
    const lease = await store.lease!(dims, [], LEASE);
    expect(lease.granted).toBe(9);
    const id = Math.floor(lease.chargedAt / G);
    // 5 of the 9 unused: refunded where they were charged, although that is 1 s ahead of now.
    await store.adjust([{ dimension: dims[0]!, at: lease.chargedAt, delta: -5, placement: 'at' }]);
    expect(await bucketsOf(key)).toEqual(new Map([[id, [5, lease.chargedAt]]]));
    // A plain check now charges the same sub-bucket: the leased requests still count until their end + 1 min.
    clock.advance(100);
    await store.consume(dims);
    expect(await bucketsOf(key)).toEqual(new Map([[id, [6, lease.chargedAt]]]));
  });

  it('keeps the key alive as long as its lease sub-bucket counts, whatever is charged after it', async () => {
    // 1.5 s into a sub-bucket: the lease's end (1 s on) is in the next one.
    const clock = fakeClock(Math.floor(Date.UTC(2026, 10, 30, 12, 0, 0) / G) * G + 1500);
    const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
    const key = `${freshPrefix()}:req`;
    const lease = await store.lease!([minute(key, 1000)], [], LEASE);
    expect(Math.floor(lease.chargedAt / G)).toBe(Math.floor(clock.t / G) + 1);
    // The current sub-bucket's first charge comes after: it must not shorten the key's life.
    clock.advance(10);
    await store.consume([minute(key, 1000)]);
    const needed = (Math.floor(lease.chargedAt / G) + 1) * G + 60_000 - clock.t;
    expect(await local.client.pttl(key)).toBeGreaterThan(needed - 1000);
    expect(await local.client.pttl(key)).toBeLessThanOrEqual(needed);
  });

  it('never admits more than the limit in any rolling window when one holder serves requests from leases up to their end and another checks each request', async () => {
    for (const seed of [1, 2, 3]) {
      const random = prng(seed);
      const clock = fakeClock(Date.UTC(2026, 10, 30, 12, 0, 0, 0));
      const store = createRedisLimitStoreForTests({ redis: local.client, now: clock.now });
      const key = `${freshPrefix()}:req`;
      const limit = 300;
      const dims = [minute(key, limit)];
      // Generous leases (up to 10 % of the limit, none kept back) to stress the placement.
      const request: LeaseRequest = { tokens: 16, lifetimeMs: 1000, keepPermille: 0, sharePermille: 100 };
      const admitted: Admission[] = [];
      let held = { tokens: 0, until: 0, chargedAt: 0 };
      for (let step = 0; step < 4000; step++) {
        clock.advance(Math.floor(random() * 120));
        if (random() < 0.6) {
          // The lease holder: a token while one is left and the lease has not ended, else a lease call.
          if (held.tokens > 0 && clock.t <= held.until) {
            held.tokens -= 1;
            admitted.push({ at: clock.t, amount: 1 });
            continue;
          }
          if (held.tokens > 0) await store.adjust([{ dimension: dims[0]!, at: held.chargedAt, delta: -held.tokens, placement: 'at' }]);
          const sent = clock.t;
          const lease = await store.lease!(dims, [], request);
          if (lease.allowed) admitted.push({ at: clock.t, amount: 1 });
          held = { tokens: lease.granted, until: sent + request.lifetimeMs, chargedAt: lease.chargedAt };
        } else if ((await store.consume(dims)).allowed) {
          admitted.push({ at: clock.t, amount: 1 });
        }
      }
      expect(admitted.length).toBeGreaterThan(3 * limit); // the run spans several windows at the limit
      expect(maxInAnyWindow(admitted, 60_000)).toBeLessThanOrEqual(limit);
    }
  });
});
