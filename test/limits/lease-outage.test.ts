import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SETTLE_CARRY_MS } from '../../src/limits/limiter.js';
import type { Dimension } from '../../src/limits/store/types.js';
import { startLeasingLimiter, type LeasingLimiter } from '../support/leasing-limiter.js';
import { slidingKeyCount } from '../support/sliding-key.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * Leases when Redis fails, with one limiter on a private redis-server: the limit is 10,000 per
 * rolling minute, so a few sequential checks of one dimension set get leases (1, 3, 7, 15, ...
 * tokens as demand grows; the defaults: 64 at most, 1 s lifetime, 25 % kept, 1 % per lease).
 * What a lease reserved but did not use may stay charged (strict); what it used must always be.
 */
const LIMIT = 10_000;
/** Default `limits.leases.lifetimeMs`. */
const LIFETIME_MS = 1000;

const minute = (tenant: string): Dimension => ({
  kind: 'sliding',
  name: 'minute',
  key: `rl:{${tenant}}:req:m`,
  limit: LIMIT,
  windowMs: 60_000,
  buckets: 30,
  amount: 1,
});

let server: TestRedis;
/** Reads what Redis holds; reconnects by itself after a restart. */
let reader: Redis;
beforeEach(async () => {
  server = await startTestRedis();
  reader = new Redis(server.url);
  reader.on('error', () => {}); // the tests kill Redis on purpose
});
afterEach(async () => {
  reader.disconnect();
  await server.stop();
});

/** A limiter on `server`, counting its lease tokens. */
const leasingLimiter = (overrides?: Parameters<typeof startLeasingLimiter>[1]) => startLeasingLimiter(server.url, overrides);

/**
 * Sequential admitted checks of `dims` through Redis (or its leases) until at least `atLeast` were
 * made and the last one was granted a lease of `minTokens` or more, so that lease holds all its
 * tokens. Returns how many were admitted and the tokens of that last lease (no other check may run
 * on the limiter meanwhile: the count of granted tokens is the limiter's).
 */
async function untilLeased(l: LeasingLimiter, dims: Dimension[], atLeast: number, minTokens = 1): Promise<{ admitted: number; granted: number }> {
  for (let admitted = 1; admitted <= 300; admitted++) {
    const before = l.tokens.granted;
    const outcome = await l.limiter.consume(dims, 'open');
    expect(outcome).toMatchObject({ decision: { allowed: true }, source: 'shared' });
    if (admitted >= atLeast && l.tokens.granted - before >= minTokens) return { admitted, granted: l.tokens.granted - before };
  }
  throw new Error(`no lease of ${minTokens} tokens after 300 checks (tokens ${JSON.stringify(l.tokens)})`);
}

describe('a lease when Redis restarts empty', () => {
  it('writes back what the instance admitted, used lease tokens included, and not the tokens it reserved but never used', async () => {
    const l = await leasingLimiter();
    const dims = [minute('restart')];
    try {
      let { admitted } = await untilLeased(l, dims, 30);
      const held = l.held();
      expect(l.tokens.used).toBeGreaterThan(0);
      expect(held).toBeGreaterThan(0);
      // Redis counts the reserved tokens from the start: nothing is admitted that it has not charged.
      expect((await slidingKeyCount(reader, dims[0]!.key)).sum).toBe(admitted + held);

      await server.kill();
      await expect.poll(() => l.limiter.storeState(), { timeout: 5000, interval: 20 }).toBe('open');
      // The lease ended with the store: its tokens serve no one now.
      expect(l.held()).toBe(0);
      for (let i = 0; i < 5; i++) {
        expect(await l.limiter.consume(dims, 'open')).toMatchObject({ decision: { allowed: true }, source: 'local' });
        admitted += 1;
      }

      await server.restart(); // empty
      await expect.poll(() => l.limiter.storeState(), { timeout: 10_000, interval: 20 }).toBe('closed');
      const count = await slidingKeyCount(reader, dims[0]!.key);
      expect(count.sum).toBe(admitted);
      expect(count.t).toBe(count.sum);
    } finally {
      await l.close();
    }
  }, 30_000);
});

describe('a lease when Redis stalls (SIGSTOP) with its connections open', () => {
  it('ends with the stall; no later request is served from it; Redis keeps at most its unused tokens on top of what was admitted', async () => {
    // The stall is found and Redis is back well within the lease's lifetime (1 s: 300 ms timeout,
    // 100 ms probe, 100 ms settle), so a lease kept through the stall would still be usable after it.
    const l = await leasingLimiter({ storeTimeoutMs: 300, storeRecoverySettleMs: 100 });
    const dims = [minute('stall')];
    // Another tenant's request is the one that finds Redis not answering.
    const other = [minute('stall-other')];
    try {
      let { admitted } = await untilLeased(l, dims, 30);
      const heldAtStall = l.held();
      expect(heldAtStall).toBeGreaterThan(0);
      expect((await slidingKeyCount(reader, dims[0]!.key)).sum).toBe(admitted + heldAtStall);

      const grantedAt = Date.now();
      server.signal('SIGSTOP');
      try {
        // No reply within the store timeout: decided locally, and every lease ends.
        expect(await l.limiter.consume(other, 'open')).toMatchObject({ decision: { allowed: true }, source: 'local' });
        expect(l.limiter.storeState()).not.toBe('closed');
        expect(l.held()).toBe(0);
        const usedAtStall = l.tokens.used;
        for (let i = 0; i < 5; i++) {
          expect(await l.limiter.consume(dims, 'open')).toMatchObject({ decision: { allowed: true }, source: 'local' });
          admitted += 1;
        }
        expect(l.tokens.used).toBe(usedAtStall);
      } finally {
        server.signal('SIGCONT');
      }

      await expect.poll(() => l.limiter.storeState(), { timeout: 10_000, interval: 20 }).toBe('closed');
      const backAfter = Date.now() - grantedAt;
      const usedAtRecovery = l.tokens.used;
      const grantedAtRecovery = l.tokens.granted;
      // The first check after the stall goes to Redis: no token of the old lease, though its lifetime may not be over.
      expect(await l.limiter.consume(dims, 'open')).toMatchObject({ decision: { allowed: true }, source: 'shared' });
      admitted += 1;
      expect(l.tokens.used).toBe(usedAtRecovery);
      for (let i = 0; i < 40; i++) {
        expect(await l.limiter.consume(dims, 'open')).toMatchObject({ decision: { allowed: true }, source: 'shared' });
        admitted += 1;
      }
      // Tokens used since come from leases granted since.
      expect(l.tokens.used - usedAtRecovery).toBeLessThanOrEqual(l.tokens.granted - grantedAtRecovery);

      // The new leases end after their lifetime; a usage read (peek) carries their refunds.
      await expect.poll(() => l.held(), { timeout: 2 * LIFETIME_MS + 1000, interval: 20 }).toBe(0);
      const usage = await l.limiter.peek(dims);
      const count = await slidingKeyCount(reader, dims[0]!.key);
      console.log(
        `lease-outage stall: back on Redis ${backAfter} ms after the lease; admitted ${admitted}, Redis ${count.sum}, lease held ${heldAtStall} at the stall`,
      );
      expect(count.sum).toBeGreaterThanOrEqual(admitted);
      expect(count.sum).toBeLessThanOrEqual(admitted + heldAtStall);
      expect(count.t).toBe(count.sum);
      expect(usage.decision.results[0]!.used).toBe(count.sum);
      // The other tenant's request that timed out reached Redis once Redis ran again: counted once,
      // not once more as a local admission written back.
      expect((await slidingKeyCount(reader, other[0]!.key)).sum).toBe(1);
    } finally {
      await l.close();
    }
  }, 30_000);
});

describe('a lease whose tokens are not all used', () => {
  /**
   * Checks until a lease of 8 tokens or more is granted, then uses three of them and stops.
   * Returns what was admitted, what Redis holds beyond it (reserved), and when the last lease call was answered.
   */
  async function burst(l: LeasingLimiter, dims: Dimension[]) {
    let { admitted } = await untilLeased(l, dims, 20, 8);
    for (let i = 0; i < 3; i++) {
      expect(await l.limiter.consume(dims, 'open')).toMatchObject({ decision: { allowed: true }, source: 'shared' });
      admitted += 1;
    }
    // A renewal asked for in the background (a lease half used) is answered before counting.
    await expect.poll(() => l.limiter.checksInFlight(), { timeout: 2000, interval: 5 }).toBe(0);
    const grantedAt = Date.now();
    // Reserved in Redis until given back: more than was admitted.
    const reserved = (await slidingKeyCount(reader, dims[0]!.key)).sum - admitted;
    expect(reserved).toBeGreaterThan(0);
    return { admitted, reserved, grantedAt };
  }

  it('gives the unused ones back, and Redis then counts exactly what was admitted', async () => {
    const l = await leasingLimiter();
    const dims = [minute('refund')];
    try {
      const { admitted, reserved } = await burst(l, dims);
      // The only key: what Redis holds beyond the admitted requests is what the leases hold.
      const held = l.held();
      expect(reserved).toBe(held);
      await expect.poll(async () => (await slidingKeyCount(reader, dims[0]!.key)).sum, { timeout: 5000, interval: 20 }).toBe(admitted);
      expect((await slidingKeyCount(reader, dims[0]!.key)).t).toBe(admitted);
      expect(l.tokens.refunded).toBe(held);
    } finally {
      await l.close();
    }
  }, 30_000);

  it('gives them back within its lifetime plus one carry period (SETTLE_CARRY_MS), whenever it was granted', async () => {
    const l = await leasingLimiter();
    // The lease is usable until its call's send time + lifetime (<= the grant's return + lifetime);
    // its unused tokens are then queued as a settle, which goes out on its own within
    // SETTLE_CARRY_MS. 500 ms for timers on a busy machine.
    const deadlineMs = LIFETIME_MS + SETTLE_CARRY_MS + 500;
    /** Polls Redis until the key holds exactly what was admitted: ms from the grant, null if not within 5 s. */
    const landing = async (key: string, admitted: number, grantedAt: number): Promise<number | null> => {
      while (Date.now() < grantedAt + 5000) {
        if ((await slidingKeyCount(reader, key)).sum === admitted) return Date.now() - grantedAt;
        await new Promise((r) => setTimeout(r, 10));
      }
      return null;
    };
    try {
      // Four tenants' leases, granted a quarter of a lifetime apart (one burst after the other):
      // the promise holds whatever moment a lease is granted at, relative to the limiter's timers.
      const started = Date.now();
      const landings: Promise<number | null>[] = [];
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, Math.max(0, started + (i * LIFETIME_MS) / 4 - Date.now())));
        const dims = [minute(`refund-deadline-${i}`)];
        const { admitted, grantedAt } = await burst(l, dims);
        landings.push(landing(dims[0]!.key, admitted, grantedAt));
      }
      const landedAfter = await Promise.all(landings);
      console.log(`lease-outage refund: landed ${JSON.stringify(landedAfter)} ms after each grant (deadline ${deadlineMs} ms)`);
      for (const ms of landedAfter) {
        expect(ms).not.toBeNull();
        expect(ms).toBeLessThanOrEqual(deadlineMs);
      }
    } finally {
      await l.close();
    }
  }, 30_000);
});
