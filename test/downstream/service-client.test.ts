import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ServiceName, downstreamServiceSchema } from '../../src/config/schema.js';
import { type ServiceClient, createServiceClient } from '../../src/downstream/service-client.js';
import { DownstreamError } from '../../src/errors/gateway-error.js';
import { createLogger } from '../../src/observability/logger.js';
import { startSampleServices } from '../../src/sample-services/start.js';

type Sample = Awaited<ReturnType<typeof startSampleServices>>;
type SampleName = ServiceName;
type ConfigInput = Parameters<typeof downstreamServiceSchema.parse>[0];

const logger = createLogger({ level: 'silent' });
const ctx = { tenantId: 'acme', requestId: 'req-test' };

let sample: Sample;
const clients: ServiceClient[] = [];

beforeAll(async () => {
  sample = await startSampleServices();
});
afterAll(async () => {
  await sample.close();
});
beforeEach(() => {
  sample.resetAll();
});
afterEach(async () => {
  // Clear `hang` first so that no parked request keeps a pool from closing.
  sample.resetAll();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** A client with small, fast defaults; `config` overrides them as the YAML file would. */
function client(config: ConfigInput = {}, service: SampleName = 'catalog', url?: string): ServiceClient {
  const input = config as Record<string, Record<string, unknown> | undefined>;
  const parsed = downstreamServiceSchema.parse({
    ...input,
    timeouts: { connectMs: 500, firstByteMs: 1000, totalMs: 3000, ...input.timeouts },
    retry: { baseDelayMs: 5, maxDelayMs: 20, ...input.retry },
  });
  const c = createServiceClient({ name: service, url: url ?? sample.urls[service], config: parsed, logger });
  clients.push(c);
  return c;
}

function hits(service: SampleName, route: string): number {
  return sample.services[service].counters()[route] ?? 0;
}

/** The DownstreamError a call rejects with; fails the test if it resolves or throws anything else. */
async function failure(call: Promise<unknown>): Promise<DownstreamError> {
  const result = await call.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(result).toBeInstanceOf(DownstreamError);
  return result as DownstreamError;
}

const PRODUCT = 'GET /products/:id';

describe('requests', () => {
  it('forwards the tenant and request id and parses the JSON body', async () => {
    const product = await client().get<{ id: string }>('/products/prd_1', { tenantId: 'tenant-a', requestId: 'req-42' });
    expect(product.id).toBe('prd_1');
    const [seen] = sample.services.catalog.requests();
    expect(seen).toMatchObject({ method: 'GET', route: '/products/:id', tenantId: 'tenant-a', requestId: 'req-42' });
  });

  it('sends a JSON body on writes', async () => {
    const order = await client({}, 'orders').send<{ id: string; customerId: string }>(
      'POST',
      '/orders',
      { customerId: 'cus_1', items: [{ productId: 'prd_1', quantity: 1 }] },
      ctx,
    );
    expect(order.customerId).toBe('cus_1');
    expect(order.id).toEqual(expect.any(String));
  });

  it('keeps a path prefix of the base URL', async () => {
    const c = client({}, 'catalog', `${sample.urls.catalog}/nowhere/`);
    const error = await failure(c.get('/products/prd_1', ctx));
    expect(sample.services.catalog.requests()[0]?.url).toBe('/nowhere/products/prd_1');
    expect(error.code).toBe('NOT_FOUND');
  });
});

describe('error mapping', () => {
  it('maps 404 to NOT_FOUND, which does not count against the breaker', async () => {
    const c = client({ breaker: { consecutiveFailures: 1 } });
    const error = await failure(c.get('/products/prd_missing', ctx));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.status).toBe(404);
    expect(error.reason).toBe('http_404');
    expect(hits('catalog', PRODUCT)).toBe(1);
    expect(c.state().breaker).toBe('closed');
  });

  it("maps 400 to BAD_USER_INPUT with the service's message", async () => {
    const body = { customerId: 'cus_1', items: [] };
    const direct = await fetch(`${sample.urls.orders}/orders`, {
      method: 'POST',
      headers: { 'x-tenant-id': 'acme', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(direct.status).toBe(400);
    const { error: serviceMessage } = (await direct.json()) as { error: string };

    const error = await failure(client({}, 'orders').send('POST', '/orders', body, ctx));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.reason).toBe('http_400');
    expect(error.message).toBe(serviceMessage);
  });

  it('maps a refused connection to DOWNSTREAM_UNAVAILABLE network', async () => {
    const port = await closedPort();
    const c = client({ retry: { maxAttempts: 2 } }, 'catalog', `http://127.0.0.1:${port}`);
    const error = await failure(c.get('/products/prd_1', ctx));
    expect(error.code).toBe('DOWNSTREAM_UNAVAILABLE');
    expect(error.reason).toBe('network');
    expect(error.message).toBe('catalog service is unreachable (ECONNREFUSED)');
  });

  it("stops when the caller's signal aborts", async () => {
    sample.services.catalog.setKnobs({ hang: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await failure(client().get('/products/prd_1', { ...ctx, signal: controller.signal }));
    expect(error.code).toBe('DOWNSTREAM_UNAVAILABLE');
    expect(error.reason).toBe('cancelled');
  });
});

describe('retries', () => {
  it('waits for Retry-After on a 503, then succeeds on the second attempt', async () => {
    sample.services.catalog.setKnobs({ failNext: { count: 1, status: 503, retryAfterSeconds: 1 } });
    const started = Date.now();
    const product = await client().get<{ id: string }>('/products/prd_1', ctx);
    expect(product.id).toBe('prd_1');
    expect(hits('catalog', PRODUCT)).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('fails at once when Retry-After is above maxRetryAfterMs', async () => {
    sample.services.catalog.setKnobs({ failNext: { count: 1, status: 503, retryAfterSeconds: 3 } });
    // The total deadline has room for the wait: only maxRetryAfterMs can refuse it.
    const c = client({ timeouts: { totalMs: 10_000 }, retry: { maxRetryAfterMs: 2000 } });
    const error = await failure(c.get('/products/prd_1', ctx));
    expect(error.code).toBe('DOWNSTREAM_UNAVAILABLE');
    expect(error.reason).toBe('http_503');
    expect(error.extensions.retryAfterSeconds).toBe(3);
    expect(error.message).toBe('catalog service answered HTTP 503');
    expect(hits('catalog', PRODUCT)).toBe(1);
  });

  it('fails at once when Retry-After would pass the total deadline', async () => {
    sample.services.catalog.setKnobs({ failNext: { count: 1, status: 429, retryAfterSeconds: 1 } });
    const c = client({ timeouts: { totalMs: 800 }, retry: { maxRetryAfterMs: 5000 } });
    const error = await failure(c.get('/products/prd_1', ctx));
    expect(error.reason).toBe('http_429');
    expect(error.extensions.retryAfterSeconds).toBe(1);
    expect(hits('catalog', PRODUCT)).toBe(1);
  });

  it('retries a 429', async () => {
    sample.services.catalog.setKnobs({ failNext: { count: 1, status: 429 } });
    const product = await client().get<{ id: string }>('/products/prd_1', ctx);
    expect(product.id).toBe('prd_1');
    expect(hits('catalog', PRODUCT)).toBe(2);
  });

  it('gives up after maxAttempts with the last status as reason', async () => {
    sample.services.catalog.setKnobs({ failNext: { count: 10, status: 502 } });
    const error = await failure(client({ retry: { maxAttempts: 3 } }).get('/products/prd_1', ctx));
    expect(error.code).toBe('DOWNSTREAM_UNAVAILABLE');
    expect(error.reason).toBe('http_502');
    expect(hits('catalog', PRODUCT)).toBe(3);
  });

  it('does not retry a 500', async () => {
    sample.services.catalog.setKnobs({ failNext: { count: 1, status: 500 } });
    const error = await failure(client().get('/products/prd_1', ctx));
    expect(error.reason).toBe('http_500');
    expect(hits('catalog', PRODUCT)).toBe(1);
  });

  it('never retries a POST, even on 503', async () => {
    sample.services.orders.setKnobs({ failNext: { count: 1, status: 503 } });
    const body = { customerId: 'cus_1', items: [{ productId: 'prd_1', quantity: 1 }] };
    const error = await failure(client({}, 'orders').send('POST', '/orders', body, ctx));
    expect(error.code).toBe('DOWNSTREAM_UNAVAILABLE');
    expect(error.reason).toBe('http_503');
    expect(hits('orders', 'POST /orders')).toBe(1);
  });

  it('keeps retries within the budget when every call fails', async () => {
    sample.services.catalog.setKnobs({ failNext: { count: 1000, status: 503 } });
    const c = client({
      retry: { maxAttempts: 3, budgetRatio: 0.1, minRetriesPerSecond: 0 },
      breaker: { consecutiveFailures: 1000 },
    });
    const calls = 50;
    for (let i = 0; i < calls; i++) {
      const error = await failure(c.get('/products/prd_1', ctx));
      expect(error.reason).toBe('http_503');
    }
    // Without a budget this would be 150 (3 attempts each); 0.1 per call buys 5 retries.
    const retries = hits('catalog', PRODUCT) - calls;
    expect(retries).toBeGreaterThanOrEqual(1);
    expect(retries).toBeLessThanOrEqual(5);
    expect(c.state().retryTokens).toBeLessThan(1);
  });
});

describe('timeouts', () => {
  it('ends a hanging call at the total deadline with DOWNSTREAM_TIMEOUT', async () => {
    sample.services.catalog.setKnobs({ hang: true });
    // firstByteMs above totalMs: only the total deadline can end this call.
    const c = client({ timeouts: { firstByteMs: 5000, totalMs: 300 } });
    const started = Date.now();
    const error = await failure(c.get('/products/prd_1', ctx));
    expect(error.code).toBe('DOWNSTREAM_TIMEOUT');
    expect(error.reason).toBe('timeout');
    expect(error.message).toBe('catalog service timed out after 300 ms for the whole call');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('retries a read whose headers time out while the deadline has room', async () => {
    sample.services.catalog.setKnobs({ hang: true });
    const c = client({ timeouts: { firstByteMs: 100, totalMs: 3000 }, retry: { maxAttempts: 3 } });
    const error = await failure(c.get('/products/prd_1', ctx));
    expect(error.code).toBe('DOWNSTREAM_TIMEOUT');
    expect(error.reason).toBe('timeout');
    expect(error.message).toBe('catalog service timed out after 100 ms waiting for response headers');
    expect(hits('catalog', PRODUCT)).toBe(3);
  });
});

describe('circuit breaker', () => {
  const breakerConfig = { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 200 } };

  it('opens after N consecutive failures, refuses without a request, and closes once healthy', async () => {
    const c = client(breakerConfig);
    sample.services.catalog.setKnobs({ failNext: { count: 3, status: 500 } });
    for (let i = 0; i < 3; i++) {
      expect((await failure(c.get('/products/prd_1', ctx))).reason).toBe('http_500');
    }
    expect(c.state().breaker).toBe('open');

    const refused = await failure(c.get('/products/prd_1', ctx));
    expect(refused.code).toBe('DOWNSTREAM_UNAVAILABLE');
    expect(refused.reason).toBe('circuit_open');
    expect(hits('catalog', PRODUCT)).toBe(3);

    await new Promise((resolve) => setTimeout(resolve, 250));
    const product = await c.get<{ id: string }>('/products/prd_1', ctx);
    expect(product.id).toBe('prd_1');
    expect(hits('catalog', PRODUCT)).toBe(4);
    expect(c.state().breaker).toBe('closed');
  });

  it('opens again when the half-open trial call fails', async () => {
    const c = client(breakerConfig);
    sample.services.catalog.setKnobs({ failNext: { count: 4, status: 503 } });
    for (let i = 0; i < 3; i++) await failure(c.get('/products/prd_1', ctx));
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await failure(c.get('/products/prd_1', ctx))).reason).toBe('http_503');
    expect(hits('catalog', PRODUCT)).toBe(4);
    expect(c.state().breaker).toBe('open');
    expect((await failure(c.get('/products/prd_1', ctx))).reason).toBe('circuit_open');
    expect(hits('catalog', PRODUCT)).toBe(4);
  });
});

describe('slots and queue', () => {
  it('refuses a call over maxInFlight + maxQueue at once with DOWNSTREAM_OVERLOADED', async () => {
    sample.services.catalog.setKnobs({ latencyMs: 300 });
    const c = client({ concurrency: { maxInFlight: 1, maxQueue: 0 } });
    const first = c.get<{ id: string }>('/products/prd_1', ctx);
    expect(c.state()).toMatchObject({ inFlight: 1, queued: 0, limit: 1 });
    const error = await failure(c.get('/products/prd_2', ctx));
    expect(error.code).toBe('DOWNSTREAM_OVERLOADED');
    expect(error.reason).toBe('queue_full');
    expect(error.message).toBe('catalog service is overloaded: 0 calls are already waiting for one of its 1 slots. Retry in 1 s.');
    expect(error.extensions.retryAfterSeconds).toBe(1);
    expect((await first).id).toBe('prd_1');
    expect(hits('catalog', PRODUCT)).toBe(1);
  });

  it('queues up to maxQueue calls', async () => {
    sample.services.catalog.setKnobs({ latencyMs: 100 });
    const c = client({ concurrency: { maxInFlight: 1, maxQueue: 1 } });
    const first = c.get<{ id: string }>('/products/prd_1', ctx);
    const second = c.get<{ id: string }>('/products/prd_2', ctx);
    expect(c.state()).toMatchObject({ inFlight: 1, queued: 1 });
    // Another tenant: the queue is full for everyone (one tenant's own bound is the next test's).
    expect((await failure(c.get('/products/prd_3', { ...ctx, tenantId: 'globex' }))).reason).toBe('queue_full');
    expect([(await first).id, (await second).id]).toEqual(['prd_1', 'prd_2']);
  });

  it("refuses a tenant's call past maxQueuePerTenant while others still queue", async () => {
    sample.services.catalog.setKnobs({ latencyMs: 100 });
    const c = client({ concurrency: { maxInFlight: 1, maxQueue: 4, maxQueuePerTenant: 1 } });
    const calls = [c.get('/products/prd_1', ctx), c.get('/products/prd_2', ctx)];
    const refused = await failure(c.get('/products/prd_3', ctx));
    expect(refused.code).toBe('DOWNSTREAM_OVERLOADED');
    expect(refused.reason).toBe('tenant_queue_full');
    expect(refused.message).toBe('catalog service is overloaded: this tenant already has 1 calls waiting, the most one tenant may. Retry in 1 s.');
    const other = c.get<{ id: string }>('/products/prd_4', { ...ctx, tenantId: 'globex' });
    expect(c.state().queued).toBe(2);
    await Promise.all(calls);
    expect((await other).id).toBe('prd_4');
  });

  it('fails a call still waiting at its deadline with DOWNSTREAM_OVERLOADED queue_timeout, not a timeout', async () => {
    sample.services.catalog.setKnobs({ latencyMs: 400 });
    const c = client({ timeouts: { totalMs: 300 }, concurrency: { maxInFlight: 1, maxQueue: 4 } });
    const first = failure(c.get('/products/prd_1', ctx));
    const started = Date.now();
    const waiting = await failure(c.get('/products/prd_2', { ...ctx, tenantId: 'globex' }));
    expect(waiting.code).toBe('DOWNSTREAM_OVERLOADED');
    expect(waiting.reason).toBe('queue_timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // The one that had the slot ran out of time at the service: a timeout.
    expect((await first).code).toBe('DOWNSTREAM_TIMEOUT');
    expect(hits('catalog', PRODUCT)).toBe(1);
    expect(c.state()).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('gives a critical call the reserved slot that normal calls cannot take', async () => {
    sample.services.catalog.setKnobs({ latencyMs: 150 });
    // 5 slots, 20% reserved: normal calls hold at most 4.
    const c = client({ concurrency: { maxInFlight: 5, maxQueue: 10, adaptive: false } });
    const normal = Array.from({ length: 6 }, (_, i) => c.get(`/products/prd_${i + 1}`, ctx));
    expect(c.state()).toMatchObject({ inFlight: 4, queued: 2, queuedByPriority: { critical: 0, normal: 2, batch: 0 } });
    const critical = c.get('/products/prd_9', { ...ctx, priority: 'critical' });
    expect(c.state()).toMatchObject({ inFlight: 5, queued: 2 });
    await Promise.all([...normal, critical]);
    // It reached the service before the two normal calls that were waiting when it came.
    expect(sample.services.catalog.requests().map((r) => r.url)[4]).toBe('/products/prd_9');
  });
});

/** A TCP port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
