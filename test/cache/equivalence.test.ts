import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { dataText, disableCache, errorCodes } from './support.js';

/**
 * These tests count cache hits and downstream calls exactly: generous store timeouts keep a slow
 * answer on a loaded machine from turning a hit into a miss (resilience.test.ts covers the short
 * production timeouts).
 */
const generousTimeouts = (config: Record<string, any>) => {
  config.cache = { timeoutMs: 1000 };
  config.limits = { storeTimeoutMs: 1000 };
};

/**
 * Cached and uncached answers are the same to the client: every query of the suite, run cold
 * (filling the cache) and warm (served from it), gives byte-identical `data` and the same errors;
 * and both equal what a gateway without a cache answers, for the fields that do not drift with
 * time (stock levels move every 5 s, so a cached one may rightly be older than a live one).
 */
let redisServer: TestRedis;
let inspect: Redis;
let cached: TestGateway;
let reference: TestGateway;

beforeAll(async () => {
  redisServer = await startTestRedis();
  inspect = new Redis(redisServer.url);
  [cached, reference] = await Promise.all([
    startTestGateway({ env: { REDIS_URL: redisServer.url }, patch: generousTimeouts }),
    startTestGateway({ patch: disableCache }),
  ]);
});
afterAll(async () => {
  await Promise.all([cached?.close(), reference?.close()]);
  await inspect.quit();
  await redisServer.stop();
});
beforeEach(async () => {
  await inspect.flushall();
  cached.sampleServices.resetAll();
  reference.sampleServices.resetAll();
});

const SUITE: { name: string; query: string; variables?: Record<string, unknown>; token?: string; volatile?: boolean }[] = [
  { name: 'one product', query: '{ product(id: "prd_2") { id name description category tags price { amountCents currency formatted } } }' },
  { name: 'an unknown product (null is an answer too)', query: '{ product(id: "prd_999999") { id name } }' },
  { name: 'a product list', query: '{ products(first: 7) { id name price { formatted } } }' },
  { name: 'a search', query: 'query ($s: String) { products(search: $s, first: 10) { id name category } }', variables: { s: 'a' } },
  { name: 'products with stock', query: '{ products(first: 4) { id inventory { available reserved inStock warehouse updatedAt } } }', volatile: true },
  {
    name: 'a customer and orders',
    query:
      '{ customer(id: "cus_5") { id name email tier lifetimeValue { formatted } orders(first: 4) { id status createdAt total { formatted } items { quantity product { name } } } } }',
  },
  {
    name: 'a viewer (errors for restricted fields)',
    query: '{ customer(id: "cus_5") { id name email lifetimeValue { formatted } } }',
    token: DEMO_TOKENS.globexViewer,
  },
  {
    name: 'the README dashboard',
    query:
      '{ viewer { tenant { displayName plan { displayName } } } dashboard { customerCount recentRevenue { formatted } recentOrders(first: 3) { id customer { name email } items { quantity product { name inventory { available } } } } } }',
    volatile: true,
  },
  {
    name: 'the whole dashboard',
    query:
      '{ dashboard { customerCount recentRevenue { amountCents } recentOrders(first: 20) { id total { amountCents } } lowStock(threshold: 1000, first: 20) { id name } } }',
    volatile: true,
  },
  {
    name: 'nesting: orders of the customers of recent orders',
    query: '{ dashboard { recentOrders(first: 5) { customer { id orders(first: 2) { id customer { orders(first: 1) { id } } } } } } }',
  },
  { name: 'aliases of one field', query: '{ a: product(id: "prd_1") { name } b: product(id: "prd_1") { id } c: product(id: "prd_3") { name } }' },
];

describe('cached and uncached answers', () => {
  it.each(SUITE)('$name: cold and warm are byte-identical', async ({ query, variables, token = DEMO_TOKENS.globexAdmin, volatile }) => {
    const cold = await cached.gql(token, query, variables);
    const warm = await cached.gql(token, query, variables);
    expect(cold.status).toBe(200);
    expect(warm.status).toBe(200);
    expect(dataText(warm.body)).toBe(dataText(cold.body));
    expect(errorCodes(warm.body)).toEqual(errorCodes(cold.body));
    expect(warm.body.errors?.map((e) => e.message)).toEqual(cold.body.errors?.map((e) => e.message));
    const fields: Record<string, string> = warm.body.extensions?.cache?.fields ?? {};
    expect(Object.keys(fields).length).toBeGreaterThan(0);
    expect(Object.values(fields).every((status) => status === 'HIT')).toBe(true);
    if (!volatile) {
      const truth = await reference.gql(token, query, variables);
      expect(dataText(warm.body)).toBe(dataText(truth.body));
      expect(errorCodes(warm.body)).toEqual(errorCodes(truth.body));
    }
  });

  it('reads the cached fields of one execution tick in one round trip, with their tags', async () => {
    const mgets = async () => Number(/^cmdstat_mget:calls=(\d+)/m.exec(await inspect.info('commandstats'))?.[1] ?? 0);
    // Tick 1: product, products (and their tags); tick 2: the six inventories below them.
    const query = '{ product(id: "prd_1") { id inventory { warehouse } } products(first: 5) { id inventory { warehouse } } }';
    for (const phase of ['cold', 'warm']) {
      const before = await mgets();
      const response = await cached.gql(DEMO_TOKENS.globexAdmin, query);
      expect(Object.keys(response.body.extensions?.cache?.fields)).toHaveLength(8);
      expect({ phase, mgets: (await mgets()) - before }).toEqual({ phase, mgets: 2 });
    }
  });

  it('serves the demo catalog and dashboard from Redis on the second request, without a downstream call', async () => {
    const query =
      '{ products(first: 5) { id name price { formatted } inventory { warehouse } } dashboard { customerCount recentRevenue { formatted } recentOrders(first: 3) { id } lowStock { id } } }';
    const token = DEMO_TOKENS.initechAdmin;
    const first = await cached.gql(token, query);
    cached.sampleServices.resetAll(); // counters only: no write happened
    const second = await cached.gql(token, query);
    expect(dataText(second.body)).toBe(dataText(first.body));
    for (const service of Object.values(cached.sampleServices.services)) expect(service.counters()).toEqual({});
    expect(second.body.extensions?.cache).toMatchObject({ misses: 0, stale: 0 });
    expect(second.body.extensions?.cache?.hits).toBe(Object.keys(second.body.extensions?.cache?.fields).length);
  });
});
