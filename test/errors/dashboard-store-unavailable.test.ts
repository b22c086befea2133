import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/** The dashboard's reads while Redis is gone: STORE_UNAVAILABLE naming the store, never an internal error. */
describe('dashboard fields while Redis is killed', () => {
  let redis: TestRedis;
  let gateway: TestGateway;
  beforeAll(async () => {
    redis = await startTestRedis();
    gateway = await startTestGateway({ env: { REDIS_URL: redis.url }, patch: (c) => (c.plans.pro.sla = { availability: 99.9, latencyP95Ms: 300 }) });
    await redis.kill();
  });
  afterAll(async () => {
    await gateway?.close();
    await redis?.stop();
  });

  it.each([
    ['forecast', DEMO_TOKENS.acmeAdmin, '{ usage { forecast { policy } } }', 'usage'],
    ['sla', DEMO_TOKENS.globexAdmin, '{ usage { sla { month } } }', 'usage'],
    ['consumers', DEMO_TOKENS.platformAdmin, '{ fleetUsage { consumers { tenantId } } }', 'usage'],
    ['fleet history', DEMO_TOKENS.platformAdmin, '{ fleetUsage { history { start } } }', 'usage'],
    ['drill-down history', DEMO_TOKENS.platformAdmin, '{ fleetUsage { tenant(tenantId: "acme") { history { start } } } }', 'usage'],
    ['audit list', DEMO_TOKENS.platformAdmin, '{ fleetUsage { limitChanges { at } } }', 'limit-overrides'],
  ])('%s answers STORE_UNAVAILABLE', async (_name, token, query, store) => {
    const res = await gateway.gql(token, query);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'STORE_UNAVAILABLE', store, retryAfterSeconds: 5 });
  });

  it('reports Redis down in the console health, without failing', async () => {
    const res = await gateway.gql(DEMO_TOKENS.platformAdmin, '{ fleetUsage { health { redis limitStore } } }');
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.fleetUsage.health.redis).toMatch(/^down: /);
  });
});
