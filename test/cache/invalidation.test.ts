import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type GqlResponse, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

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
 * Mutations drop what they change, for their tenant only, on every instance sharing Redis: two
 * gateways share one redis-server (each with its own embedded sample services, so the write is
 * made through the gateway whose services the reads use). Also: what responses say about the
 * cache (`extensions.cache`, Cache-Control).
 */
let redisServer: TestRedis;
let inspect: Redis;
let gateway: TestGateway;
let other: TestGateway;

beforeAll(async () => {
  redisServer = await startTestRedis();
  inspect = new Redis(redisServer.url);
  [gateway, other] = await Promise.all([
    startTestGateway({ env: { REDIS_URL: redisServer.url }, patch: generousTimeouts }),
    startTestGateway({ env: { REDIS_URL: redisServer.url }, patch: generousTimeouts }),
  ]);
});
afterAll(async () => {
  await Promise.all([gateway?.close(), other?.close()]);
  await inspect.quit();
  await redisServer.stop();
});
beforeEach(async () => {
  await inspect.flushall();
  gateway.sampleServices.resetAll();
  other.sampleServices.resetAll();
});

const READ = `{
  customer(id: "cus_1") { name orders(first: 3) { id } }
  other: customer(id: "cus_2") { name orders(first: 3) { id } }
  product(id: "prd_1") { name inventory { reserved } }
  dashboard { customerCount recentOrders(first: 1) { id } recentRevenue { amountCents } }
}`;
const PLACE = 'mutation { placeOrder(input: { customerId: "cus_1", items: [{ productId: "prd_1", quantity: 2 }] }) { id } }';
const fieldsOf = (response: GqlResponse): Record<string, string> => response.body.extensions?.cache?.fields ?? {};

describe('invalidation by mutations', () => {
  it("placeOrder drops the customer's orders, the dashboard and the products' stock, and nothing else", async () => {
    const before = await gateway.gql(DEMO_TOKENS.globexAdmin, READ);
    await gateway.gql(DEMO_TOKENS.acmeAdmin, READ);
    const placed = await gateway.gql(DEMO_TOKENS.globexAdmin, PLACE);
    const orderId = placed.body.data.placeOrder.id as string;

    const after = await gateway.gql(DEMO_TOKENS.globexAdmin, READ);
    expect(fieldsOf(after)).toEqual({
      customer: 'MISS', // tagged Customer:cus_1 too (over-invalidation is harmless)
      'customer.orders': 'MISS',
      other: 'HIT',
      'other.orders': 'HIT',
      product: 'MISS', // Product:prd_1, for its stock
      'product.inventory': 'MISS',
      'dashboard.customerCount': 'MISS',
      'dashboard.recentOrders': 'MISS',
      'dashboard.recentRevenue': 'MISS',
    });
    expect(after.body.data.customer.orders[0].id).toBe(orderId);
    expect(after.body.data.dashboard.recentOrders[0].id).toBe(orderId);
    expect(after.body.data.product.inventory.reserved).toBe(before.body.data.product.inventory.reserved + 2);
    // The 100 most recent orders now hold the new one (and no longer the 100th).
    expect(after.body.data.dashboard.recentRevenue.amountCents).not.toBe(before.body.data.dashboard.recentRevenue.amountCents);
    // Another tenant's entries are untouched.
    expect(new Set(Object.values(fieldsOf(await gateway.gql(DEMO_TOKENS.acmeAdmin, READ))))).toEqual(new Set(['HIT']));
  });

  it("the mutation's own selection already reads past the invalidation", async () => {
    await gateway.gql(DEMO_TOKENS.globexAdmin, READ);
    const placed = await gateway.gql(
      DEMO_TOKENS.globexAdmin,
      'mutation { placeOrder(input: { customerId: "cus_1", items: [{ productId: "prd_1", quantity: 1 }] }) { id customer { orders(first: 3) { id } } } }',
    );
    expect(placed.body.data.placeOrder.customer.orders[0].id).toBe(placed.body.data.placeOrder.id);
    expect(fieldsOf(placed)).toEqual({ 'placeOrder.customer.orders': 'MISS' });
  });

  it('updateCustomer drops the customer', async () => {
    const query = '{ customer(id: "cus_2") { name tier } }';
    await gateway.gql(DEMO_TOKENS.globexSupport, query);
    expect(fieldsOf(await gateway.gql(DEMO_TOKENS.globexViewer, query))).toEqual({ customer: 'HIT' });
    const updated = await gateway.gql(
      DEMO_TOKENS.globexSupport,
      'mutation { updateCustomer(id: "cus_2", input: { name: "Renamed Person", tier: GOLD }) { name } }',
    );
    expect(updated.body.data.updateCustomer.name).toBe('Renamed Person');
    const after = await gateway.gql(DEMO_TOKENS.globexViewer, query);
    expect(after.body.data.customer).toEqual({ name: 'Renamed Person', tier: 'GOLD' });
    expect(fieldsOf(after)).toEqual({ customer: 'MISS' });
  });

  it('a mutation on one instance invalidates the entries every instance reads', async () => {
    const query = '{ product(id: "prd_1") { inventory { reserved } } }';
    await other.gql(DEMO_TOKENS.globexAdmin, query);
    expect(fieldsOf(await other.gql(DEMO_TOKENS.globexAdmin, query))['product.inventory']).toBe('HIT');
    await gateway.gql(DEMO_TOKENS.globexAdmin, PLACE);
    expect(fieldsOf(await other.gql(DEMO_TOKENS.globexAdmin, query))['product.inventory']).toBe('MISS');
  });

  it('a refused mutation invalidates nothing', async () => {
    await gateway.gql(DEMO_TOKENS.globexAdmin, READ);
    const refused = await gateway.gql(DEMO_TOKENS.globexViewer, PLACE);
    expect(refused.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(new Set(Object.values(fieldsOf(await gateway.gql(DEMO_TOKENS.globexAdmin, READ))))).toEqual(new Set(['HIT']));
  });
});

describe('what responses say', () => {
  it('extensions.cache: hits and misses per response path, aliases and list indices included, no key material', async () => {
    const query = '{ a: product(id: "prd_1") { id } products(first: 2) { id inventory { warehouse } } viewer { clientId } }';
    const cold = await gateway.gql(DEMO_TOKENS.globexAdmin, query);
    expect(cold.body.extensions?.cache).toEqual({
      hits: 0,
      misses: 4,
      stale: 0,
      fields: { a: 'MISS', products: 'MISS', 'products.0.inventory': 'MISS', 'products.1.inventory': 'MISS' },
    });
    const warm = await gateway.gql(DEMO_TOKENS.globexAdmin, query);
    expect(warm.body.extensions?.cache).toEqual({
      hits: 4,
      misses: 0,
      stale: 0,
      fields: { a: 'HIT', products: 'HIT', 'products.0.inventory': 'HIT', 'products.1.inventory': 'HIT' },
    });
    const text = JSON.stringify(warm.body.extensions?.cache);
    expect(text).not.toMatch(/cache:|globex|[0-9a-f]{32}/);
  });

  it('no extensions.cache when no cached field was resolved', async () => {
    const response = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } orders(first: 1) { totalCount } }');
    expect(response.body.extensions?.cache).toBeUndefined();
  });

  it('Cache-Control: private, no-store on every GraphQL response', async () => {
    const responses = [
      await gateway.gql(DEMO_TOKENS.globexAdmin, '{ product(id: "prd_1") { name } }'),
      await gateway.gql(DEMO_TOKENS.globexAdmin, '{ product(id: "prd_1") { name } }'),
      await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId } }'),
      await gateway.gql(DEMO_TOKENS.globexViewer, '{ customer(id: "cus_1") { email } }'),
      await gateway.gql(DEMO_TOKENS.globexAdmin, PLACE),
      await gateway.gql(DEMO_TOKENS.globexAdmin, '{ noSuchField }'),
      await gateway.gql(DEMO_TOKENS.platformAdmin, '{ viewer { kind } }'),
    ];
    for (const response of responses) expect(response.headers.get('cache-control')).toBe('private, no-store');
  });

  it('introspection shows each cached field’s TTL and scope', async () => {
    const response = await gateway.gql(
      DEMO_TOKENS.globexAdmin,
      '{ __type(name: "Product") { fields { name description } } q: __schema { queryType { fields { name description } } } }',
    );
    const describe = (fields: { name: string; description: string | null }[], name: string) => fields.find((f) => f.name === name)?.description ?? '';
    expect(describe(response.body.data.__type.fields, 'inventory')).toContain('Cached for 30 s per tenant.');
    const query = response.body.data.q.queryType.fields;
    expect(describe(query, 'product')).toContain('Cached for 300 s per tenant, then served stale for up to 60 s more while one request refreshes it.');
    expect(describe(query, 'products')).toContain('Cached for 300 s per tenant');
    expect(describe(query, 'viewer')).not.toContain('Cached');
  });
});
