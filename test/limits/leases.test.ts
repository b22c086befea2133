import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { SETTLE_CARRY_MS } from '../../src/limits/limiter.js';
import { eventually } from '../support/eventually.js';
import { heldIn } from '../support/sliding-key.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * Leases seen from a client and from Redis, on one gateway: a tenant sending request after
 * request gets the same answers and headers as with a check per request, with far fewer Redis
 * calls, and once it stops Redis holds exactly what was admitted (unused tokens refunded).
 */
let redis: TestRedis;
let stats: Redis;
let gateway: TestGateway;

/** Estimated 23 (search 2 + 10 products x inventory 2 + 1), actual 3: no product matches. */
const REFUND_QUERY = '{ products(search: "no-such-product", first: 10) { id inventory { __typename } } }';
const VIEWER = '{ viewer { clientId } }';

beforeAll(async () => {
  redis = await startTestRedis();
  stats = new Redis(redis.url);
  gateway = await startTestGateway({
    env: { REDIS_URL: redis.url },
    patch: (config) => {
      // initech (enterprise): 1,000 requests and 100,000 cost points per minute; 1 % of a limit
      // per lease: up to 9 requests reserved besides the one checked.
      config.plans.enterprise.limits = {
        requestsPerMinute: 1000,
        costPerMinute: 100_000,
        requestsPerDay: 'unlimited',
        requestsPerMonth: 'unlimited',
        responseBytesPerHour: 'unlimited',
        maxOperationCost: 50_000,
      };
      config.limits = { storeTimeoutMs: 1000, instanceHeartbeatMs: 60_000, overridesPollMs: 60_000 };
      config.usage = { enabled: false };
      config.cache = { enabled: false };
    },
  });
});
afterAll(async () => {
  await gateway.close();
  stats.disconnect();
  await redis.stop();
});

async function scriptCalls(): Promise<number> {
  const info = await stats.info('commandstats');
  return Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(info)?.[1] ?? 0) + Number(/^cmdstat_eval:calls=(\d+)/m.exec(info)?.[1] ?? 0);
}

async function leaseTokens(): Promise<Record<'granted' | 'used' | 'refunded', number>> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const count = (outcome: string) => Number(new RegExp(`^limit_lease_tokens_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { granted: count('granted'), used: count('used'), refunded: count('refunded') };
}

describe('leases on one gateway', () => {
  it("serves most of a busy tenant's requests without a round trip, with the headers a check per request would give, and Redis ends up holding exactly what was admitted", async () => {
    const before = await scriptCalls();
    const remaining: number[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await gateway.gql(DEMO_TOKENS.initechAdmin, VIEWER);
      expect(r.status).toBe(200);
      remaining.push(Number(r.headers.get('x-ratelimit-remaining')));
    }
    // One instance: every request's remaining is one less than the previous one's, leased or not.
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => 1000 - 1 - i));
    const calls = (await scriptCalls()) - before;
    const tokens = await leaseTokens();
    // Requests served from leases made no call: with up to 9 reserved per call (a lease half used
    // is renewed in the background), well under half of the requests made one.
    expect(tokens.used).toBeGreaterThan(30);
    expect(calls).toBeLessThan(30);

    // Stopped: the last lease ends within its lifetime (1 s), its unused tokens are refunded within
    // SETTLE_CARRY_MS after: then Redis counts exactly the 60 requests.
    expect(await eventually(async () => (await heldIn(stats, 'rl:{initech}:req:m')) === 60, 1000 + SETTLE_CARRY_MS + 3000)).toBe(true);
    const after = await leaseTokens();
    expect(after.granted).toBe(after.used + after.refunded);
    expect(await heldIn(stats, 'rl:{initech}:cost:m')).toBe(60); // the viewer query costs 1
  }, 30_000);

  it('refunds an over-estimate of a request served from a lease where the lease charged it', async () => {
    const costBefore = await heldIn(stats, 'rl:{initech}:cost:m');
    const requestsBefore = await heldIn(stats, 'rl:{initech}:req:m');
    for (let i = 0; i < 20; i++) {
      const r = await gateway.gql(DEMO_TOKENS.initechAdmin, REFUND_QUERY);
      expect(r.status).toBe(200);
      expect(r.body.extensions).toMatchObject({ cost: { requested: 23, actual: 3 } });
    }
    expect((await leaseTokens()).used).toBeGreaterThan(60); // this burst used leases too
    // Each request keeps its actual cost (3), the rest of the estimate and every unused token given back.
    expect(await eventually(async () => (await heldIn(stats, 'rl:{initech}:cost:m')) === costBefore + 20 * 3, 1000 + SETTLE_CARRY_MS + 3000)).toBe(true);
    expect(await heldIn(stats, 'rl:{initech}:req:m')).toBe(requestsBefore + 20);
  }, 30_000);
});
