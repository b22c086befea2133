import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { createRedisUsageStore } from '../../src/usage/redis-usage-store.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

let redis: TestRedis;
let gateways: TestGateway[];
beforeAll(async () => {
  redis = await startTestRedis();
  const patch = (config: Record<string, any>) => (config.limits = { storeTimeoutMs: 1000 });
  gateways = await Promise.all([1, 2].map(() => startTestGateway({ env: { REDIS_URL: redis.url }, patch })));
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await redis.stop();
});

describe('metering under load', () => {
  it('meters exactly the requests sent, across two instances, throttled and failed ones included', async () => {
    const tokens = [DEMO_TOKENS.acmeAdmin, DEMO_TOKENS.globexAdmin, DEMO_TOKENS.globexViewer, DEMO_TOKENS.service];
    const queries = ['{ viewer { clientId } }', '{ product(id: "prd_2") { name } }', '{ nope }'];
    const sent = new Map<string, number>();
    const requests = Array.from({ length: 720 }, (_, i) => {
      const token = tokens[i % tokens.length]!;
      const tenant = token === DEMO_TOKENS.acmeAdmin ? 'acme' : token === DEMO_TOKENS.service ? 'initech' : 'globex';
      sent.set(tenant, (sent.get(tenant) ?? 0) + 1);
      return gateways[i % 2]!.gql(token, queries[i % queries.length]!);
    });
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    // acme (Free, 100 per minute) sent 120 valid queries (and 60 that fail validation, which are
    // never limit-checked): some were throttled, and those are metered too.
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);

    await Promise.all(gateways.map((g) => g.close())); // flushes both meters
    const client = new Redis(redis.url);
    try {
      const store = createRedisUsageStore({ redis: client });
      const range = { granularity: 'minute' as const, from: Date.now() - 180_000, to: Date.now() };
      const metered = new Map((await store.tenants(range)).map((t) => [t.tenantId, t.totals]));
      for (const [tenant, count] of sent) expect(metered.get(tenant)?.requests, tenant).toBe(count);
      const acme = metered.get('acme')!;
      expect(acme.throttled).toBe(statuses.filter((s) => s === 429).length);
      expect(acme.ok + acme.errors + acme.throttled).toBe(acme.requests);
    } finally {
      client.disconnect();
    }
  });
});
