import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dimension } from '../../src/limits/store/types.js';
import { startLeasingLimiter, type LeasingLimiter } from '../support/leasing-limiter.js';
import { useTestRedis } from '../support/redis-server.js';
import { slidingKeyCount } from '../support/sliding-key.js';

/**
 * A busy key's lease is renewed in the background once half used, so that its requests keep
 * being served without a round trip instead of all waiting for one each time a lease runs out;
 * what Redis holds stays exactly what was admitted plus what the leases hold.
 */
const local = useTestRedis();
let l: LeasingLimiter;
const LIMIT = 100_000; // 1 % is 1,000: leases are capped by maxTokens (64)
const dims: Dimension[] = [{ kind: 'sliding', name: 'minute', key: 'rl:{renewal}:req:m', limit: LIMIT, windowMs: 60_000, buckets: 30, amount: 1 }];

beforeAll(async () => {
  l = await startLeasingLimiter(local.server.url);
});
afterAll(async () => {
  await l.close();
});

async function scriptCalls(): Promise<number> {
  const info = await local.client.info('commandstats');
  return Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(info)?.[1] ?? 0) + Number(/^cmdstat_eval:calls=(\d+)/m.exec(info)?.[1] ?? 0);
}

describe('lease renewal', () => {
  it('serves every request of a busy key from leases once it has one, with one call per renewal, and Redis exact', async () => {
    let admitted = 0;
    // Warm-up: demand is learnt, leases grow to maxTokens.
    for (let i = 0; i < 200; i++) {
      expect((await l.limiter.consume(dims, 'open')).decision.allowed).toBe(true);
      admitted += 1;
    }
    const usedBefore = l.tokens.used;
    const callsBefore = await scriptCalls();
    for (let i = 0; i < 640; i++) {
      expect(await l.limiter.consume(dims, 'open')).toMatchObject({ decision: { allowed: true }, source: 'shared' });
      admitted += 1;
    }
    // Every one of them took a token: none made a call of its own.
    expect(l.tokens.used - usedBefore).toBe(640);
    // The calls were renewals of up to 65 each (64 reserved and the renewal's own): 640 requests need about 10.
    const calls = (await scriptCalls()) - callsBefore;
    expect(calls).toBeGreaterThanOrEqual(9);
    expect(calls).toBeLessThanOrEqual(12);

    await expect.poll(() => l.limiter.checksInFlight(), { timeout: 2000, interval: 5 }).toBe(0);
    const held = l.held();
    // At most the lease in use and its renewal.
    expect(held).toBeLessThanOrEqual(2 * 65);
    const count = await slidingKeyCount(local.client, dims[0]!.key);
    expect(count.sum).toBe(admitted + held);
    expect(count.t).toBe(count.sum);
  });
});
