import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { flushKeepingEpoch, startTestRedis, type TestRedis } from '../support/redis-server.js';
import { eventually } from '../support/eventually.js';

/**
 * Four gateway instances sharing one Redis, as in production. acme gets small limits so the
 * tests run fast; heartbeats and override polling are quick so fallbacks and admin changes show
 * within a test.
 */
let redis: TestRedis;
let client: Redis;
let gateways: TestGateway[];

const patch = (config: Record<string, any>) => {
  config.plans.free.limits = { requestsPerMinute: 50, requestsPerDay: 'unlimited' };
  config.limits = { instanceHeartbeatMs: 200, overridesPollMs: 200, storeTimeoutMs: 1000, storeBreakerHalfOpenMs: 300 };
};

beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
  client.on('error', () => {}); // the tests kill Redis on purpose
  gateways = await Promise.all([1, 2, 3, 4].map(() => startTestGateway({ env: { REDIS_URL: redis.url }, patch })));
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  client.disconnect();
  await redis.stop();
});
beforeEach(async () => {
  await flushKeepingEpoch(client);
});

const VIEWER = '{ viewer { clientId } }';

describe('limits shared by several gateway instances', () => {
  it('admits exactly the limit across four instances under concurrency', async () => {
    const requests = Array.from({ length: 200 }, (_, i) => gateways[i % 4]!.gql(DEMO_TOKENS.acmeAdmin, VIEWER));
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(150);
  });

  it("applies a platform admin's temporary limit change on every instance within seconds", async () => {
    const set = await gateways[0]!.gql(
      DEMO_TOKENS.platformAdmin,
      'mutation { setTenantLimits(tenantId: "acme", input: { requestsPerMinute: 3, expiresInSeconds: 60 }) { tenantId requestsPerMinute expiresAt setBy } }',
    );
    expect(set.body.errors).toBeUndefined();
    expect(set.body.data.setTenantLimits).toMatchObject({ tenantId: 'acme', requestsPerMinute: 3, setBy: 'platform-ops' });
    expect(Date.parse(set.body.data.setTenantLimits.expiresAt)).toBeGreaterThan(Date.now() + 55_000);

    expect(await eventually(async () => (await gateways[3]!.gql(DEMO_TOKENS.acmeAdmin, VIEWER)).headers.get('x-ratelimit-limit') === '3')).toBe(true);

    await gateways[0]!.gql(DEMO_TOKENS.platformAdmin, 'mutation { clearTenantLimits(tenantId: "acme") }');
    expect(await eventually(async () => (await gateways[2]!.gql(DEMO_TOKENS.acmeAdmin, VIEWER)).headers.get('x-ratelimit-limit') === '50')).toBe(true);
  });

  it('refuses the admin mutations to tenant keys and checks their input', async () => {
    const tenant = await gateways[0]!.gql(
      DEMO_TOKENS.acmeAdmin,
      'mutation { setTenantLimits(tenantId: "acme", input: { requestsPerMinute: 100000 }) { tenantId } }',
    );
    expect(tenant.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const unknown = await gateways[0]!.gql(DEMO_TOKENS.platformAdmin, 'mutation { setTenantLimits(tenantId: "nope", input: { plan: "pro" }) { tenantId } }');
    expect(unknown.body.errors![0]).toMatchObject({ message: 'Unknown tenant: "nope"', extensions: { code: 'BAD_USER_INPUT' } });
    const badPlan = await gateways[0]!.gql(DEMO_TOKENS.platformAdmin, 'mutation { setTenantLimits(tenantId: "acme", input: { plan: "gold" }) { tenantId } }');
    expect(badPlan.body.errors![0]!.message).toBe('Unknown plan: "gold"');
  });

  it('moves a tenant to another plan at run time', async () => {
    await gateways[0]!.gql(DEMO_TOKENS.platformAdmin, 'mutation { setTenantLimits(tenantId: "acme", input: { plan: "pro" }) { plan } }');
    expect(await eventually(async () => (await gateways[1]!.gql(DEMO_TOKENS.acmeAdmin, VIEWER)).headers.get('x-ratelimit-limit') === '1000')).toBe(true);
    await gateways[0]!.gql(DEMO_TOKENS.platformAdmin, 'mutation { clearTenantLimits(tenantId: "acme") }');
  });
});
