import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { eventually } from '../support/eventually.js';

let redis: TestRedis;
let gateway: TestGateway;
beforeAll(async () => {
  redis = await startTestRedis();
  gateway = await startTestGateway({ env: { REDIS_URL: redis.url } });
});
afterAll(async () => {
  await gateway.close();
  await redis.stop();
});

async function get(path: string) {
  const response = await fetch(`${gateway.url}${path}`);
  return { status: response.status, body: (await response.json()) as any };
}


describe('health and readiness', () => {
  it('is alive and ready with Redis up', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { config: 'ok', redis: 'ok' } } });
  });

  it('reports not ready while Redis is down, stays alive and keeps serving queries, and recovers', async () => {
    await redis.kill();
    const down = await get('/readyz');
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not ready');
    expect(down.body.checks.redis).toMatch(/^failed: /);
    expect((await get('/healthz')).status).toBe(200);
    const query = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ product(id: "prd_1") { name } }');
    expect(query.status).toBe(200);
    expect(query.body.data.product.name).toEqual(expect.any(String));

    await redis.restart();
    expect(await eventually(async () => (await get('/readyz')).status === 200, 5000)).toBe(true);
  });
});
