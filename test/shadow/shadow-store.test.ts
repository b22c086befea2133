import { describe, expect, it } from 'vitest';
import { createMemoryLimitStore } from '../../src/limits/store/memory-store.js';
import { createRedisLimitStoreForTests } from '../../src/limits/store/redis-store.js';
import type { Adjustment, Dimension, LimitDecision, LimitStore, ShadowCheck } from '../../src/limits/store/types.js';
import { InvalidDimensionError } from '../../src/limits/store/validate.js';
import { calendar, fakeClock, freshPrefix, prng, sliding } from '../limits/store/helpers.js';
import { useTestRedis } from '../support/redis-server.js';

/**
 * The shadow group of a check (limiter.lua, "Shadow limits"; the memory store) against its twin:
 * the same dimensions enforced alone in a second store, on the same random steps and clock. Every
 * step, the shadow verdict (allowed, held, the refusing policy, each dimension's used) equals the
 * twin's decision, and the check's own decision equals that of a third store that never saw a
 * shadow: the shadow changes nothing of what is enforced, and its refusals are the twin's.
 */

const local = useTestRedis();
const SEEDS = Array.from({ length: 8 }, (_, i) => i + 1);
const STEPS = 200;

/** The enforced plan (generous) and the proposed one (tight, with a burst zone), under one tenant tag. */
function plans(tag: string, rand: () => number) {
  const enforced: Dimension[] = [sliding(`${tag}:req:m`, { name: 'minute', limit: 40, buckets: 30 }), calendar(`${tag}:req:day`, { name: 'day', limit: 400 })];
  const perMinute = 6 + Math.floor(rand() * 4);
  const shadow = (prefix: string): Dimension[] => [
    sliding(`${prefix}:req:m`, { name: 'minute', limit: perMinute, buckets: 30, burst: { amount: 2, maxDelayMs: 4_000 } }),
    sliding(`${prefix}:cost:m`, { name: 'cost-minute', limit: 30, buckets: 30 }),
    calendar(`${prefix}:req:day`, { name: 'day', limit: 60 }),
  ];
  return { enforced, shadow };
}

/** The shadow dimensions with this request's cost, as the gate builds them per request. */
const priced = (dims: Dimension[], cost: number): Dimension[] => dims.map((d) => (d.name === 'cost-minute' ? { ...d, amount: cost } : d));

function shadowCheck(tag: string, dimensions: Dimension[]): ShadowCheck {
  return { dimensions, recordKey: `${tag}:shadow:refused`, subject: 'key-a', recordTtlMs: 86_400_000 };
}

const enforcedView = (d: LimitDecision) => ({ allowed: d.allowed, heldMs: d.heldMs ?? 0, results: d.results });
const twinView = (d: LimitDecision) => ({
  allowed: d.allowed,
  heldMs: d.heldMs ?? 0,
  refusedBy: d.allowed ? null : (d.results.find((r) => !r.allowed)?.name ?? null),
  results: d.results.map((r) => ({ name: r.name, used: r.used, allowed: r.allowed })),
});

async function runSteps(seed: number, make: (now: () => number) => { withShadow: LimitStore; plain: LimitStore; twin: LimitStore }) {
  const rand = prng(seed);
  const clock = fakeClock(Date.UTC(2026, 11, 6, 23, 58, 0));
  const stores = make(clock.now);
  const tag = freshPrefix();
  const twinTag = freshPrefix();
  const { enforced, shadow } = plans(tag, rand);
  // The same enforced limits on keys of their own: the stores may share one Redis.
  const plainTag = freshPrefix();
  const plainDims = enforced.map((d) => ({ ...d, key: d.key.replace(tag, plainTag) }));
  const shadowDims = shadow(`${tag}:shadow:s1`);
  const twinDims = shadow(twinTag);
  let refusals = 0;
  let held = 0;
  for (let step = 0; step < STEPS; step++) {
    const cost = 1 + Math.floor(rand() * 5);
    const own = await stores.withShadow.consume(enforced, [], shadowCheck(tag, priced(shadowDims, cost)));
    const plain = await stores.plain.consume(plainDims);
    const twin = await stores.twin.consume(priced(twinDims, cost));
    expect(enforcedView(own), `seed ${seed} step ${step}: enforced`).toEqual(enforcedView(plain));
    expect(own.shadow, `seed ${seed} step ${step}: shadow`).toEqual(twinView(twin));
    if (own.shadow!.refusedBy) refusals++;
    if (own.shadow!.heldMs > 0) held++;
    // A refund of part of an admitted request's cost, as a settle does, on both sides.
    if (own.shadow!.allowed && rand() < 0.3) {
      const refund = (d: Dimension, at: number): Adjustment => ({ dimension: d, at, delta: -1, placement: 'at' });
      const at = own.now + own.shadow!.heldMs;
      await stores.withShadow.adjust([refund(priced(shadowDims, cost)[1]!, at)]);
      await stores.twin.adjust([refund(priced(twinDims, cost)[1]!, at)]);
    }
    clock.advance(Math.floor(rand() * 900));
  }
  const record = await stores.withShadow.shadowRecord!(`${tag}:shadow:refused`);
  const counted = Object.entries(record)
    .filter(([name]) => name.endsWith('|n'))
    .reduce((sum, [, n]) => sum + Number(n), 0);
  return { refusals, held, counted, record };
}

describe('shadow group in one check', () => {
  it.each(SEEDS)("Redis, seed %i: shadow verdicts are the twin's, the enforced ones unchanged, refusals recorded", async (seed) => {
    const { refusals, held, counted } = await runSteps(seed, (now) => ({
      withShadow: createRedisLimitStoreForTests({ redis: local.client, now }),
      plain: createRedisLimitStoreForTests({ redis: local.client, now }),
      twin: createRedisLimitStoreForTests({ redis: local.client, now }),
    }));
    // The steps must exercise refusals and holds of the shadow, not only admissions.
    expect(refusals).toBeGreaterThan(10);
    expect(held).toBeGreaterThan(0);
    expect(counted).toBe(refusals);
  });

  it.each(SEEDS)('memory store, seed %i: the same', async (seed) => {
    const { refusals, counted } = await runSteps(seed, (now) => ({
      withShadow: createMemoryLimitStore({ now }),
      plain: createMemoryLimitStore({ now }),
      twin: createMemoryLimitStore({ now }),
    }));
    expect(refusals).toBeGreaterThan(10);
    expect(counted).toBe(refusals);
  });

  it('Redis and memory keep the same record: counts, first and latest refusal per key and policy', async () => {
    const redisRun = await runSteps(3, (now) => ({
      withShadow: createRedisLimitStoreForTests({ redis: local.client, now }),
      plain: createRedisLimitStoreForTests({ redis: local.client, now }),
      twin: createRedisLimitStoreForTests({ redis: local.client, now }),
    }));
    const memoryRun = await runSteps(3, (now) => ({
      withShadow: createMemoryLimitStore({ now }),
      plain: createMemoryLimitStore({ now }),
      twin: createMemoryLimitStore({ now }),
    }));
    expect(redisRun.record).toEqual(memoryRun.record);
    expect(Object.keys(redisRun.record).some((name) => name.startsWith('key-a|minute|'))).toBe(true);
  });

  it('a shadow refused without a check (the single-operation maximum) is recorded and charges nothing', async () => {
    const store = createRedisLimitStoreForTests({ redis: local.client, now: () => Date.UTC(2026, 11, 6, 12) });
    const tag = freshPrefix();
    const decision = await store.consume([sliding(`${tag}:req:m`)], [], {
      dimensions: [],
      recordKey: `${tag}:shadow:refused`,
      subject: 'key-b',
      refusedBy: 'max-cost',
      recordTtlMs: 60_000,
    });
    expect(decision.allowed).toBe(true);
    expect(decision.shadow).toEqual({ allowed: false, heldMs: 0, refusedBy: 'max-cost', results: [] });
    expect(await store.shadowRecord!(`${tag}:shadow:refused`)).toEqual({
      'key-b|max-cost|n': '1',
      'key-b|max-cost|f': String(Date.UTC(2026, 11, 6, 12)),
      'key-b|max-cost|l': String(Date.UTC(2026, 11, 6, 12)),
    });
  });

  it("a shadow on the check's own keys is refused before any I/O", async () => {
    const store = createRedisLimitStoreForTests({ redis: local.client, now: () => Date.now() });
    const tag = freshPrefix();
    const own = sliding(`${tag}:req:m`);
    await expect(store.consume([own], [], shadowCheck(tag, [own]))).rejects.toThrow(InvalidDimensionError);
    await expect(store.consume([own], [], shadowCheck(tag, [own]))).rejects.toThrow(
      `shadow limit dimension "tenant-rpm": key "${tag}:req:m" is one of the check's own`,
    );
  });
});
