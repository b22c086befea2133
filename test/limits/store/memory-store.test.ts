import { describe, expect, it } from 'vitest';
import { createMemoryLimitStore } from '../../../src/limits/store/memory-store.js';
import { calendar, fakeClock, sliding } from './helpers.js';

describe('memory store', () => {
  it('evicts the least recently used key past maxKeys', async () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1));
    const store = createMemoryLimitStore({ now: clock.now, maxKeys: 3 });
    const dim = (key: string) => sliding(key, { limit: 1 });
    for (const key of ['a', 'b', 'c']) expect((await store.consume([dim(key)])).allowed).toBe(true);
    expect(store.size).toBe(3);

    await store.peek([dim('a')]); // a is now more recently used than b
    expect((await store.consume([dim('d')])).allowed).toBe(true);
    expect(store.size).toBe(3);

    // b was evicted (its count is forgotten); a, c and d are still at their limit.
    expect((await store.peek([dim('b')])).results[0]!.used).toBe(0);
    for (const key of ['a', 'c', 'd']) expect((await store.peek([dim(key)])).allowed).toBe(false);
  });

  it('stops counting a charge one window after it, forgets the key window + g after it, and a calendar key after its period', async () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1, 23, 59, 59));
    const store = createMemoryLimitStore({ now: clock.now, maxKeys: 2 });
    const rpm = sliding('rpm', { windowMs: 10_000, buckets: 10 });
    await store.consume([rpm, calendar('day')]);
    clock.advance(9_999);
    expect((await store.peek([rpm])).results[0]!.used).toBe(1);
    clock.advance(1);
    expect((await store.peek([rpm])).results[0]!.used).toBe(0);
    clock.advance(1_000); // (N + 1) * g after the charge: the key itself has expired
    expect((await store.peek([rpm])).results[0]!.used).toBe(0);
    expect((await store.peek([calendar('day')])).results[0]!.used).toBe(0); // a new day
    expect(store.size).toBe(0); // both entries were dropped when read after expiry
  });

  it('uses Date.now by default', async () => {
    const store = createMemoryLimitStore();
    const before = Date.now();
    const decision = await store.consume([sliding('k')]);
    expect(decision.now).toBeGreaterThanOrEqual(before);
    expect(decision.now).toBeLessThanOrEqual(Date.now());
  });

  it('rejects a bad maxKeys', () => {
    expect(() => createMemoryLimitStore({ maxKeys: 0 })).toThrow(new Error('maxKeys must be a positive integer: 0'));
  });
});
