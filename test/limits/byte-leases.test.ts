import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTLE_CARRY_MS } from '../../src/limits/limiter.js';
import { createRedisLimitStore } from '../../src/limits/store/redis-store.js';
import type { Adjustment, Dimension, LimitDecision } from '../../src/limits/store/types.js';
import { eventually } from '../support/eventually.js';
import { startLeasingLimiter, type LeasingLimiter } from '../support/leasing-limiter.js';
import { useTestRedis } from '../support/redis-server.js';
import { heldIn } from '../support/sliding-key.js';

/**
 * Byte budgets served from leases (ALGORITHM.md, "Byte budgets in leases"), two limiters (two
 * instances) on one real redis-server: a lease reserves response bytes with its tokens, requests
 * draw on the reservation, their actual bytes settle the draw, and a response larger than what is
 * left is charged in full at once and ends the lease. Redis ends up holding exactly the bytes served.
 */
const local = useTestRedis();
let a: LeasingLimiter;
let b: LeasingLimiter;

const SIZE = 1000;
/** A tenant's requests per minute (1 % is 1,000: leases are capped by maxTokens, 64) and bytes per hour (1 % is 100 responses). */
function dimsOf(tenant: string): Dimension[] {
  return [
    { kind: 'sliding', name: 'minute', key: `rl:{${tenant}}:req:m`, limit: 100_000, windowMs: 60_000, buckets: 30, amount: 1 },
    { kind: 'sliding', name: 'bytes-hour', key: `rl:{${tenant}}:bytes:h`, limit: 10_000_000, windowMs: 3_600_000, buckets: 60, amount: 0, checkOnly: true },
  ];
}
/** A response of `bytes` settled as the limit gate settles it. */
const responded = (dims: Dimension[], decision: LimitDecision, bytes: number): Adjustment[] => [{ dimension: dims[1]!, at: decision.now, delta: bytes }];

beforeAll(async () => {
  [a, b] = await Promise.all([startLeasingLimiter(local.server.url), startLeasingLimiter(local.server.url)]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

async function scriptCalls(): Promise<number> {
  const info = await local.client.info('commandstats');
  return Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(info)?.[1] ?? 0) + Number(/^cmdstat_eval:calls=(\d+)/m.exec(info)?.[1] ?? 0);
}

/** Serves `n` requests on `dims` one after another on `l`, each answered with `bytes`; returns the bytes served. */
async function serve(
  l: LeasingLimiter,
  dims: Dimension[],
  n: number,
  bytes: number,
  each?: (served: number, decision: LimitDecision) => Promise<void>,
): Promise<number> {
  let served = 0;
  for (let i = 0; i < n; i++) {
    const { decision, source } = await l.limiter.consume(dims, 'open');
    expect(decision.allowed).toBe(true);
    served += bytes;
    await l.limiter.adjust(responded(dims, decision, bytes), source, decision.draw);
    await each?.(served, decision);
  }
  return served;
}

/** Waits until `l` holds no lease token and has nothing in flight, and the waiting settles went out. */
async function quiet(l: LeasingLimiter): Promise<void> {
  expect(await eventually(() => l.held() === 0 && l.limiter.checksInFlight() === 0, 5000)).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_CARRY_MS + 300));
}

describe('byte budgets in leases', () => {
  it('serves a byte-budget request from a lease once the tenant’s response sizes are known; every reservation counts at once, and Redis ends exact', async () => {
    const dims = dimsOf('bytes-a');
    const callsBefore = await scriptCalls();
    const drawn: number[] = [];
    // The first request: no size known, so checked on its own (no draw).
    const served = await serve(a, dims, 120, SIZE, async (total, decision) => {
      drawn.push(decision.draw?.bytes ?? 0);
      // What the other instance sees never falls below what this one has served: leased responses
      // were reserved before they were admitted (the first, checked one, is carried by the next call).
      if (total > SIZE) expect((await b.limiter.peek(dims)).decision.results[1]!.used).toBeGreaterThanOrEqual(total);
    });
    expect(drawn[0]).toBe(0);
    // From the second on, every request drew one response's size (the largest seen lately).
    expect(drawn.slice(1).every((d) => d === SIZE)).toBe(true);
    // Most were served from tokens: far fewer script calls than requests (the peeks above are 119 of them).
    const calls = (await scriptCalls()) - callsBefore - 119;
    expect(a.tokens.used).toBeGreaterThan(80);
    expect(calls).toBeLessThan(30);
    await quiet(a);
    expect(await heldIn(local.client, dims[1]!.key)).toBe(served);
    expect(await heldIn(local.client, dims[0]!.key)).toBe(120);
  }, 30_000);

  it('charges a response larger than what is left of the reservation in full at once (the other instance sees it) and ends the lease', async () => {
    const dims = dimsOf('bytes-b');
    let served = await serve(a, dims, 20, SIZE);
    // No renewal out (one answered after the lease ended would start a lease of its own).
    expect(await eventually(() => a.limiter.checksInFlight() === 0, 5000)).toBe(true);
    expect(a.held()).toBeGreaterThan(1);
    // A token's request answered with 50 responses' worth: more than the lease has left.
    const { decision, source } = await a.limiter.consume(dims, 'open');
    expect(decision.draw?.bytes).toBe(SIZE);
    const callsBefore = await scriptCalls();
    await a.limiter.adjust(responded(dims, decision, 50 * SIZE), source, decision.draw);
    served += 50 * SIZE;
    // At once: one call, sent before adjust resolved, with the lease's remainder refunded in it.
    expect((await scriptCalls()) - callsBefore).toBe(1);
    expect(await heldIn(local.client, dims[1]!.key)).toBe(served);
    expect((await b.limiter.peek(dims)).decision.results[1]!.used).toBe(served);
    // The lease ended: its unused tokens refunded, and the next request makes a call.
    expect(a.held()).toBe(0);
    const callsThen = await scriptCalls();
    const next = await a.limiter.consume(dims, 'open');
    expect((await scriptCalls()) - callsThen).toBe(1);
    // It drew the new largest size.
    expect(next.decision.draw?.bytes ?? 50 * SIZE).toBe(50 * SIZE);
    await a.limiter.adjust(responded(dims, next.decision, SIZE), next.source, next.decision.draw);
    served += SIZE;
    await quiet(a);
    expect(await heldIn(local.client, dims[1]!.key)).toBe(served);
  }, 30_000);

  it('settles requests still in flight when their lease ended: within their draw the rest is refunded, beyond it charged in full', async () => {
    const dims = dimsOf('bytes-c');
    let served = await serve(a, dims, 20, SIZE);
    // Three leased requests in flight at once.
    const inFlight = await Promise.all([a.limiter.consume(dims, 'open'), a.limiter.consume(dims, 'open'), a.limiter.consume(dims, 'open')]);
    for (const { decision } of inFlight) expect(decision.draw?.bytes).toBe(SIZE);
    // The first overflows and ends the lease; the second is smaller than its draw; the third larger.
    const [first, second, third] = inFlight as [(typeof inFlight)[0], (typeof inFlight)[0], (typeof inFlight)[0]];
    await a.limiter.adjust(responded(dims, first.decision, 200 * SIZE), first.source, first.decision.draw);
    await a.limiter.adjust(responded(dims, second.decision, SIZE / 2), second.source, second.decision.draw);
    const callsBefore = await scriptCalls();
    await a.limiter.adjust(responded(dims, third.decision, 3 * SIZE), third.source, third.decision.draw);
    // Beyond its draw once the lease has ended: charged in full at once.
    expect((await scriptCalls()) - callsBefore).toBe(1);
    served += 200 * SIZE + SIZE / 2 + 3 * SIZE;
    await quiet(a);
    expect(await heldIn(local.client, dims[1]!.key)).toBe(served);
  }, 30_000);

  it('checks each request on its own while the tenant’s response sizes are unknown, and in the last quarter of the byte budget', async () => {
    const dims = dimsOf('bytes-d');
    // Three quarters of the budget used (by the other instance): no bytes may be reserved.
    await createRedisLimitStore({ redis: local.client }).adjust([{ dimension: dims[1]!, at: Date.now(), delta: 7_500_000 - SIZE }]);
    const callsBefore = await scriptCalls();
    const drawn: number[] = [];
    await serve(a, dims, 30, SIZE, async (_served, decision) => {
      drawn.push(decision.draw?.bytes ?? 0);
    });
    // Sizes known from the first response on, but never a lease: one call per request, as without leases.
    expect(drawn.every((d) => d === 0)).toBe(true);
    expect((await scriptCalls()) - callsBefore).toBe(30);
    await quiet(a);
    expect(await heldIn(local.client, dims[1]!.key)).toBe(7_500_000 - SIZE + 30 * SIZE);
  }, 30_000);
});
