import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { SETTLE_CARRY_MS } from '../../src/limits/limiter.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { flushKeepingEpoch, startTestRedis, type TestRedis } from '../support/redis-server.js';

let redis: TestRedis;
let client: Redis;
let gateway: TestGateway;

beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
  // A generous store timeout: on a loaded test machine a slow Redis answer would switch a
  // request to the local fallback, and these tests count exactly. The background work on shared
  // state (the usage meter's flush, reads of runtime overrides, shadows and billing records, the
  // instance heartbeat) is slowed to an hour: those are Redis commands no limit check makes, and
  // the service-token test counts every command.
  gateway = await startTestGateway({
    env: { REDIS_URL: redis.url },
    patch: (config) => {
      config.limits = { storeTimeoutMs: 1000, localRefusalMaxMs: 1, overridesPollMs: 3_600_000, instanceHeartbeatMs: 3_600_000 };
      config.billing = { ...config.billing, pollMs: 3_600_000 };
      config.usage = { ...config.usage, flushIntervalMs: 3_600_000 };
    },
  });
});
afterAll(async () => {
  await gateway.close();
  client.disconnect();
  await redis.stop();
});
// Each test starts from emptied windows; refusals remembered at the door (1 ms above, tested in
// local-refusals.test.ts and the hostile-input suite) would outlive the flush.
beforeEach(async () => {
  await flushKeepingEpoch(client);
  gateway.sampleServices.resetAll();
});

const VIEWER = '{ viewer { clientId } }';

describe('plan limits with the demo plans, against Redis', () => {
  it("refuses the Free plan's 101st request of a minute with a 429 a person can act on", async () => {
    for (let i = 1; i <= 100; i++) {
      const r = await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-remaining')).toBe(String(100 - i));
    }
    const refused = await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // Never more than the window: the oldest admission leaves the rolling minute within 60 s.
    expect(retryAfter).toBeLessThanOrEqual(60);
    // X-RateLimit-Reset is a Unix second, rounded up: at most the second in which the window
    // after the decision ends.
    expect(Number(refused.headers.get('x-ratelimit-reset'))).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000 + 60));
    expect(policyWindows(refused.headers)).toEqual(expect.arrayContaining([{ policy: 'minute', t: expect.any(Number), w: 60 }]));
    for (const { policy, t, w } of policyWindows(refused.headers)) expect({ policy, fits: t <= w }).toEqual({ policy, fits: true });
    expect(refused.body.data).toBeUndefined();
    const error = refused.body.errors![0]!;
    expect(error.message).toBe(`Rate limit exceeded: the Free plan allows 100 requests per 1 minute. Retry in ${retryAfter} s.`);
    expect(error.extensions).toMatchObject({
      code: 'RATE_LIMITED',
      plan: 'free',
      dimension: 'requests',
      policy: 'minute',
      limit: 100,
      window: '1 minute',
      retryAfterSeconds: retryAfter,
      documentation: '/docs/limits#free',
    });
    expect(Date.parse(error.extensions!.resetAt)).toBeGreaterThan(Date.now());
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('does not refuse a Pro key at the Free limit', async () => {
    for (let i = 0; i < 150; i++) {
      const r = await gateway.gql(DEMO_TOKENS.globexAdmin, VIEWER);
      expect(r.status).toBe(200);
    }
  });

  it('describes every active policy in the IETF RateLimit-Policy and RateLimit fields', async () => {
    const r = await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER);
    expect(r.headers.get('x-ratelimit-limit')).toBe('100');
    expect(r.headers.get('x-ratelimit-remaining')).toBe('99');
    const reset = Number(r.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
    const policy = r.headers.get('ratelimit-policy')!;
    expect(policy).toContain('"minute";q=100;w=60');
    expect(policy).toContain('"day";q=1000;w=86400');
    // A calendar month is its real length (28 to 31 days), so that t never exceeds w.
    // (acme's month, in its time zone America/New_York)
    const [year, month] = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit' })
      .format(new Date())
      .split('-')
      .map(Number);
    const monthDays = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
    expect(policy).toContain(`"month";q=20000;w=${monthDays * 86400}`);
    expect(policy).toContain('"cost-minute";q=1000;w=60');
    expect(policy).toContain('"bytes-hour";q=50000000;w=3600');
    expect(r.headers.get('ratelimit')).toMatch(/"minute";r=99;t=\d+/);
    expect(r.headers.get('ratelimit')).toMatch(/"day";r=999;t=\d+/);
    for (const { policy, t, w } of policyWindows(r.headers)) expect({ policy, fits: t <= w }).toEqual({ policy, fits: true });
  });

  it('lets service tokens bypass every limit, without a limit check', async () => {
    // Earlier tests' leases end within their lifetime and their unused tokens are refunded within
    // SETTLE_CARRY_MS after (1 s each): let that background go out before counting.
    await new Promise((resolve) => setTimeout(resolve, 2 * SETTLE_CARRY_MS + 100));
    const before = await commandCount();
    for (let i = 0; i < 5; i++) {
      const r = await gateway.gql(DEMO_TOKENS.service, VIEWER);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBeNull();
    }
    expect((await commandCount()) - before).toBe(0);
  });

  it("enforces a plan's per-root-field limit (Free: placeOrder 20 per minute)", async () => {
    const mutation = 'mutation { placeOrder(input: { customerId: "cus_1", items: [{ productId: "prd_1", quantity: 1 }] }) { id } }';
    for (let i = 0; i < 20; i++) expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, mutation)).status).toBe(200);
    const refused = await gateway.gql(DEMO_TOKENS.acmeAdmin, mutation);
    expect(refused.status).toBe(429);
    expect(refused.body.errors![0]!.extensions).toMatchObject({ dimension: 'field', policy: 'Mutation.placeOrder', limit: 20 });
    expect(gateway.sampleServices.services.orders.counters()['POST /orders']).toBe(20);
    // Queries are not affected by the mutation's limit.
    expect((await gateway.gql(DEMO_TOKENS.acmeAdmin, VIEWER)).status).toBe(200);
  });
});

/** Commands Redis executed, excluding INFO itself. */
async function commandCount(): Promise<number> {
  const info = await client.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') total += Number(match[2]);
  }
  return total;
}

/** Each policy's `t` (RateLimit) with its `w` (RateLimit-Policy). */
function policyWindows(headers: Headers): { policy: string; t: number; w: number }[] {
  const windows = new Map([...headers.get('ratelimit-policy')!.matchAll(/"([^"]+)";q=\d+;w=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  return [...headers.get('ratelimit')!.matchAll(/"([^"]+)";r=\d+;t=(\d+)/g)].map((m) => ({ policy: m[1]!, t: Number(m[2]), w: windows.get(m[1]!)! }));
}
