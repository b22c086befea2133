import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { dataText, disableCache } from './support.js';

/**
 * The field cache under load and failure, with the gateway's own redis-server: identical misses
 * coalesce into one downstream call; Redis killed or paused costs speed, never an answer; errors
 * and partial results are not cached.
 */
let redisServer: TestRedis;
let inspect: Redis;
let cached: TestGateway;
let reference: TestGateway;
/**
 * For the coalescing tests: a healthy Redis, as seen by a gateway that does not give up on it
 * after 50 ms. On a loaded machine a timed-out token read is a miss that knows no token, and such a
 * miss joins only downstream calls that started after its read (field-cache.ts): the counts below
 * are for misses that read the store.
 */
let coalescing: TestGateway;
const generousTimeouts = (config: Record<string, any>) => {
  config.cache = { timeoutMs: 1000 };
  config.limits = { storeTimeoutMs: 1000 };
};

beforeAll(async () => {
  redisServer = await startTestRedis();
  inspect = new Redis(redisServer.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
  inspect.on('error', () => {});
  [cached, reference, coalescing] = await Promise.all([
    startTestGateway({ env: { REDIS_URL: redisServer.url } }),
    startTestGateway({ patch: disableCache }),
    startTestGateway({ env: { REDIS_URL: redisServer.url }, patch: generousTimeouts }),
  ]);
});
afterAll(async () => {
  await Promise.all([cached?.close(), reference?.close(), coalescing?.close()]);
  inspect.disconnect();
  await redisServer.stop();
});
beforeEach(async () => {
  await waitForRedis();
  await inspect.flushall();
  cached.sampleServices.resetAll();
  reference.sampleServices.resetAll();
  coalescing.sampleServices.resetAll();
});

/** After a restart: until the test's own client and the gateway's cache connection are back. */
async function waitForRedis() {
  await expect.poll(async () => inspect.ping().catch(() => 'down'), { timeout: 5000, interval: 50 }).toBe('PONG');
}

const calls = (gateway: TestGateway, service: 'accounts' | 'catalog' | 'orders' | 'inventory') =>
  Object.values(gateway.sampleServices.services[service].counters()).reduce((sum, n) => sum + n, 0);

const CATALOG = '{ product(id: "prd_4") { id name price { formatted } } products(first: 5) { id name } }';

describe('coalescing', () => {
  it('100 concurrent identical misses make one downstream call', async () => {
    // Downstream latency so that every request arrives while the first one's call is in flight.
    coalescing.sampleServices.services.catalog.setKnobs({ latencyMs: 300 });
    const query = '{ product(id: "prd_5") { id name } }';
    const responses = await Promise.all(Array.from({ length: 100 }, () => coalescing.gql(DEMO_TOKENS.globexAdmin, query)));
    const truth = await reference.gql(DEMO_TOKENS.globexAdmin, query);
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(dataText(response.body)).toBe(dataText(truth.body));
    }
    expect(coalescing.sampleServices.services.catalog.counters()).toEqual({ 'GET /products': 1 });
  });

  it('coalesces no further than the key: two tenants make two calls', async () => {
    coalescing.sampleServices.services.catalog.setKnobs({ latencyMs: 200 });
    const query = '{ product(id: "prd_5") { id name } }';
    const tokens = Array.from({ length: 40 }, (_, i) => (i % 2 ? DEMO_TOKENS.acmeAdmin : DEMO_TOKENS.initechAdmin));
    const responses = await Promise.all(tokens.map((token) => coalescing.gql(token, query)));
    for (const [i, response] of responses.entries()) {
      expect(dataText(response.body)).toBe(dataText((await reference.gql(tokens[i]!, query)).body));
    }
    expect(calls(coalescing, 'catalog')).toBe(2);
  });
});

describe('when Redis fails', () => {
  it('killed: every request is answered correctly from downstream, then caching resumes', async () => {
    const truth = await reference.gql(DEMO_TOKENS.globexAdmin, CATALOG);
    await cached.gql(DEMO_TOKENS.globexAdmin, CATALOG);
    await redisServer.kill();
    try {
      for (let i = 0; i < 10; i++) {
        const response = await cached.gql(DEMO_TOKENS.globexAdmin, CATALOG);
        expect(response.status).toBe(200);
        expect(response.body.errors).toBeUndefined();
        expect(dataText(response.body)).toBe(dataText(truth.body));
        expect(response.body.extensions?.cache).toMatchObject({ hits: 0, degraded: true });
      }
      expect(calls(cached, 'catalog')).toBeGreaterThanOrEqual(10);
      // Mutations still work; their invalidation is what fails (and is logged).
      const placed = await cached.gql(
        DEMO_TOKENS.globexAdmin,
        'mutation { placeOrder(input: { customerId: "cus_1", items: [{ productId: "prd_1", quantity: 1 }] }) { id } }',
      );
      expect(placed.body.errors).toBeUndefined();
      expect(placed.body.data.placeOrder.id).toMatch(/^ord_/);
    } finally {
      await redisServer.restart();
    }
    await waitForRedis();
    // The breaker lets a trial call through after 2 s; then entries are written and read again.
    await expect.poll(async () => (await cached.gql(DEMO_TOKENS.globexAdmin, CATALOG)).body.extensions?.cache?.hits, { timeout: 8000, interval: 250 }).toBe(2);
  });

  it('paused (slow): requests are answered without waiting for it', async () => {
    const truth = await reference.gql(DEMO_TOKENS.globexAdmin, CATALOG);
    await cached.gql(DEMO_TOKENS.globexAdmin, CATALOG);
    const pauseMs = 2500;
    await inspect.call('CLIENT', 'PAUSE', String(pauseMs), 'ALL');
    const pausedAt = Date.now();
    const responses = [];
    for (let i = 0; i < 5; i++) responses.push(await cached.gql(DEMO_TOKENS.globexAdmin, CATALOG));
    // Every answer came while Redis was still paused: the cache (and the limits) gave up waiting.
    expect(Date.now() - pausedAt).toBeLessThan(pauseMs);
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.body.errors).toBeUndefined();
      expect(dataText(response.body)).toBe(dataText(truth.body));
      expect(response.body.extensions?.cache?.degraded).toBe(true);
    }
    // No UNPAUSE: Redis pauses that command too. The next test's first command waits for the end.
  });
});

describe('what is never cached', () => {
  it('an error: the next request asks downstream again', async () => {
    const query = '{ product(id: "prd_6") { id name } }';
    cached.sampleServices.services.catalog.setKnobs({ errorRate: 1 });
    const failed = await cached.gql(DEMO_TOKENS.globexAdmin, query);
    expect(failed.body.data.product).toBeNull();
    expect(failed.body.errors![0]!.extensions!.code).toBe('DOWNSTREAM_UNAVAILABLE');
    cached.sampleServices.services.catalog.setKnobs({ errorRate: 0 });
    const served = await cached.gql(DEMO_TOKENS.globexAdmin, query);
    expect(dataText(served.body)).toBe(dataText((await reference.gql(DEMO_TOKENS.globexAdmin, query)).body));
    expect(served.body.extensions?.cache?.fields).toEqual({ product: 'MISS' });
    expect((await cached.gql(DEMO_TOKENS.globexAdmin, query)).body.extensions?.cache?.fields).toEqual({ product: 'HIT' });
  });

  it('a partial result: the failed part is fetched again, the rest is served from the cache', async () => {
    const query = '{ products(first: 3) { id name inventory { warehouse } } }';
    cached.sampleServices.services.inventory.setKnobs({ errorRate: 1 });
    const partial = await cached.gql(DEMO_TOKENS.globexAdmin, query);
    expect(partial.body.data.products.map((p: { inventory: unknown }) => p.inventory)).toEqual([null, null, null]);
    expect(partial.body.errors!.map((e) => e.extensions!.code)).toEqual(['DOWNSTREAM_UNAVAILABLE', 'DOWNSTREAM_UNAVAILABLE', 'DOWNSTREAM_UNAVAILABLE']);
    cached.sampleServices.services.inventory.setKnobs({ errorRate: 0 });
    const whole = await cached.gql(DEMO_TOKENS.globexAdmin, query);
    expect(whole.body.errors).toBeUndefined();
    expect(dataText(whole.body)).toBe(dataText((await reference.gql(DEMO_TOKENS.globexAdmin, query)).body));
    expect(whole.body.extensions?.cache?.fields).toEqual({
      products: 'HIT',
      'products.0.inventory': 'MISS',
      'products.1.inventory': 'MISS',
      'products.2.inventory': 'MISS',
    });
  });
});
