import { afterAll, beforeAll, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { createDownstream } from '../../src/downstream/downstream.js';
import { createLogger } from '../../src/observability/logger.js';
import { startSampleServices } from '../../src/sample-services/start.js';

let sample: Awaited<ReturnType<typeof startSampleServices>>;

beforeAll(async () => {
  sample = await startSampleServices();
});
afterAll(async () => {
  await sample.close();
});

it('creates one client per service, each with its own breaker', async () => {
  const config = configSchema.parse({
    plans: {},
    tenants: {},
    downstream: { catalog: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1 } } },
  });
  const downstream = createDownstream({ urls: sample.urls, config: config.downstream, logger: createLogger({ level: 'silent' }) });
  try {
    const ctx = { tenantId: 'acme', requestId: 'req-1' };
    sample.services.catalog.setKnobs({ failNext: { count: 1, status: 500 } });
    await expect(downstream.client('catalog').get('/products/prd_1', ctx)).rejects.toMatchObject({ reason: 'http_500' });
    const order = await downstream
      .client('orders')
      .send<{ customerId: string }>('POST', '/orders', { customerId: 'cus_1', items: [{ productId: 'prd_1', quantity: 1 }] }, ctx);
    expect(order.customerId).toBe('cus_1');

    const states = downstream.states();
    expect(Object.keys(states).sort()).toEqual(['accounts', 'catalog', 'inventory', 'orders']);
    expect(states.catalog).toEqual({
      breaker: 'open',
      inFlight: 0,
      queued: 0,
      limit: 64,
      queuedByPriority: { critical: 0, normal: 0, batch: 0 },
      retryTokens: 0.1,
    });
    expect(states.orders.breaker).toBe('closed');
    expect(sample.services.orders.requests()[0]?.tenantId).toBe('acme');
  } finally {
    await downstream.close();
  }
});
