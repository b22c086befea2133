import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  // Small timeouts and breaker settings so failures show within a test's time.
  gateway = await startTestGateway({
    patch: (config) => {
      const policy = {
        timeouts: { connectMs: 500, firstByteMs: 300, totalMs: 2500 },
        retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 1500 },
        breaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 },
      };
      config.downstream = { accounts: policy, catalog: policy, orders: policy, inventory: policy };
      // These tests ask the same fields again and again to watch the downstream calls: the field
      // cache would answer the repeats without any (test/cache covers it with failing services).
      config.cache = { enabled: false };
    },
  });
});
afterAll(async () => {
  await gateway.close();
});
beforeEach(() => gateway.sampleServices.resetAll());

const PRODUCT = '{ product(id: "prd_5") { id name inventory { available } } }';

describe('downstream failures', () => {
  it('nulls only the fields of a failing service, coded DOWNSTREAM_UNAVAILABLE', async () => {
    gateway.sampleServices.services.inventory.setKnobs({ errorRate: 1 });
    const { status, body } = await gateway.gql(DEMO_TOKENS.globexAdmin, PRODUCT);
    expect(status).toBe(200);
    expect(body.data.product).toMatchObject({ id: 'prd_5', inventory: null });
    expect(body.data.product.name).toEqual(expect.any(String));
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.path).toEqual(['product', 'inventory']);
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'DOWNSTREAM_UNAVAILABLE', service: 'inventory', reason: 'http_500' });
  });

  it('nulls the fields of a hanging service, coded DOWNSTREAM_TIMEOUT', async () => {
    gateway.sampleServices.services.inventory.setKnobs({ hang: true });
    const { body } = await gateway.gql(DEMO_TOKENS.globexAdmin, PRODUCT);
    expect(body.data.product.inventory).toBeNull();
    expect(body.data.product.name).toEqual(expect.any(String));
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'DOWNSTREAM_TIMEOUT', service: 'inventory' });
  });

  it('retries a 503 after its Retry-After and serves the data', async () => {
    gateway.sampleServices.services.catalog.setKnobs({ failNext: { count: 1, status: 503, retryAfterSeconds: 1 } });
    const started = Date.now();
    const { body } = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ product(id: "prd_5") { name } }');
    expect(body.errors).toBeUndefined();
    expect(body.data.product.name).toEqual(expect.any(String));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    const calls = gateway.sampleServices.services.catalog.requests();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('does not wait for a Retry-After beyond the cap: fails at once with retryAfterSeconds', async () => {
    gateway.sampleServices.services.catalog.setKnobs({ failNext: { count: 1, status: 429, retryAfterSeconds: 30 } });
    const { body } = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ product(id: "prd_5") { name } }');
    expect(body.data.product).toBeNull();
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'DOWNSTREAM_UNAVAILABLE', reason: 'http_429', retryAfterSeconds: 30 });
    expect(gateway.sampleServices.services.catalog.counters()).toEqual({ 'GET /products': 1 });
  });

  it('opens the breaker after consecutive failures, then closes it when the service recovers', async () => {
    const orders = gateway.sampleServices.services.orders;
    orders.setKnobs({ errorRate: 1 });
    for (let i = 0; i < 3; i++) await gateway.gql(DEMO_TOKENS.globexAdmin, '{ order(id: "ord_1") { id } }');
    const reached = orders.requests().length;

    const open = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ order(id: "ord_1") { id } }');
    expect(open.body.errors![0]!.extensions).toMatchObject({ code: 'DOWNSTREAM_UNAVAILABLE', reason: 'circuit_open' });
    expect(orders.requests().length).toBe(reached);

    orders.resetKnobs();
    await new Promise((r) => setTimeout(r, 350));
    const closed = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ order(id: "ord_1") { id } }');
    expect(closed.body.errors).toBeUndefined();
    expect(closed.body.data.order.id).toBe('ord_1');
  });
});
