import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { parsePrometheusText } from '../observability/prometheus-text.js';
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
  return { status: response.status, degraded: response.headers.get('x-gateway-degraded'), body: (await response.json()) as any };
}

async function degradedGauge(): Promise<number | undefined> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return parsePrometheusText(text).samples.find((s) => s.name === 'gateway_degraded' && s.labels.check === 'redis')?.value;
}

describe('health and readiness', () => {
  it('is alive and ready with Redis up', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, degraded: null, body: { status: 'ok' } });
    expect(await get('/readyz')).toEqual({ status: 200, degraded: null, body: { status: 'ready', checks: { config: 'ok', redis: 'ok' } } });
    expect(await degradedGauge()).toBe(0);
  });

  it('stays ready while Redis is down, reporting degraded in the body, a header and a gauge, keeps serving, and recovers', async () => {
    await redis.kill();
    const down = await get('/readyz');
    expect(down.status).toBe(200);
    expect(down.body).toEqual({ status: 'degraded', checks: { config: 'ok', redis: expect.stringMatching(/^failed: /) }, degraded: ['redis'] });
    expect(down.degraded).toBe('redis');
    expect(await degradedGauge()).toBe(1);
    expect((await get('/healthz')).status).toBe(200);
    const query = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ product(id: "prd_1") { name } }');
    expect(query.status).toBe(200);
    expect(query.body.data.product.name).toEqual(expect.any(String));

    await redis.restart();
    expect(await eventually(async () => (await get('/readyz')).body.status === 'ready', 5000)).toBe(true);
    expect((await get('/readyz')).degraded).toBeNull();
    expect(await degradedGauge()).toBe(0);
  });
});

describe('readiness while draining', () => {
  it('takes no readiness probe during shutdown (the port is closed), while the request in flight completes', async () => {
    const draining = await startTestGateway();
    draining.sampleServices.services.catalog.setKnobs({ latencyMs: 600 });
    const inFlight = draining.gql(DEMO_TOKENS.acmeAdmin, '{ product(id: "prd_1") { name } }');
    await new Promise((r) => setTimeout(r, 150));
    const closed = draining.close();
    await new Promise((r) => setTimeout(r, 50));

    const probe = await fetch(`${draining.url}/readyz`).then(
      (response) => ({ status: response.status }),
      (error: Error & { cause?: { code?: string } }) => ({ error: error.cause?.code }),
    );
    expect(probe).toEqual({ error: 'ECONNREFUSED' });
    const served = await inFlight;
    expect(served.status).toBe(200);
    expect(served.body.data.product.name).toEqual(expect.any(String));
    await closed;
  });
});
