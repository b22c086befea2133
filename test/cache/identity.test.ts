import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { startTestGateway, type GqlResponse, type TestGateway } from '../support/gateway.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { dataText, disableCache, errorCodes } from './support.js';

/**
 * Issue 9, defects 1 to 3: a cache entry is always the object its key names, and is never a value
 * read before a mutation stored as fresh. A cached gateway over a real Redis against a gateway
 * without a cache (`reference`); every write is made on both, so both services hold the same data.
 */
const generousTimeouts = (config: Record<string, any>) => {
  config.cache = { timeoutMs: 1000 };
  config.limits = { storeTimeoutMs: 1000 };
};

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

async function expectOwnAnswer(response: GqlResponse, token: string, query: string) {
  const truth = await reference.gql(token, query);
  expect(response.status).toBe(200);
  expect(dataText(response.body)).toBe(dataText(truth.body));
  expect(errorCodes(response.body)).toEqual(errorCodes(truth.body));
}

const fieldsOf = (response: GqlResponse): Record<string, string> => response.body.extensions?.cache?.fields ?? {};

describe('defect 1: one key cannot poison an entry the tenant shares', () => {
  it.each([
    ['customer', 'cus'],
    ['product', 'prd'],
  ])('%s: ids the service would split or trim are BAD_USER_INPUT, and the other ids keep their own objects', async (field, prefix) => {
    const hostile = `{ a: ${field}(id: "${prefix}_7,${prefix}_8") { id } b: ${field}(id: "${prefix}_1") { id } c: ${field}(id: " ") { id } }`;
    const poisoned = await cached.gql(DEMO_TOKENS.globexViewer, hostile);
    expect(poisoned.body.data).toEqual({ a: null, b: { id: `${prefix}_1` }, c: null });
    expect(errorCodes(poisoned.body).sort()).toEqual(['a:BAD_USER_INPUT', 'c:BAD_USER_INPUT']);
    expect(poisoned.body.errors!.find((e) => e.path?.[0] === 'a')!.message).toBe(
      `id must be one id, without commas, whitespace or control characters: "${prefix}_7,${prefix}_8"`,
    );

    const query = `{ ${field}(id: "${prefix}_1") { id name } }`;
    const admin = await cached.gql(DEMO_TOKENS.globexAdmin, query);
    await expectOwnAnswer(admin, DEMO_TOKENS.globexAdmin, query);
    expect(admin.body.data[field].id).toBe(`${prefix}_1`);
  });

  it('misses that join a fill get the object they asked for', async () => {
    cached.sampleServices.services.accounts.setKnobs({ latencyMs: 100 });
    const hostile = '{ a: customer(id: "cus_7,cus_8") { id } b: customer(id: "cus_1") { id name } }';
    const query = '{ customer(id: "cus_1") { id name } }';
    const [, ...joined] = await Promise.all([
      cached.gql(DEMO_TOKENS.globexViewer, hostile),
      cached.gql(DEMO_TOKENS.globexAdmin, query),
      cached.gql(DEMO_TOKENS.globexSupport, query),
    ]);
    for (const response of joined) expect(response.body.data.customer.id).toBe('cus_1');
  });

  it('a batch answer is matched by id: every item of a list keeps its own stock', async () => {
    const query = '{ products(first: 20) { id inventory { reserved warehouse } } }';
    await cached.gql(DEMO_TOKENS.globexAdmin, query);
    const warm = await cached.gql(DEMO_TOKENS.globexAdmin, query);
    expect(new Set(Object.values(fieldsOf(warm)))).toEqual(new Set(['HIT']));
    await expectOwnAnswer(warm, DEMO_TOKENS.globexAdmin, query);
  });
});

describe('defect 2: invalidation follows the object, not the argument text', () => {
  it.each([' cus_18', 'cus_18 ', 'cus_18,', 'cus_18,cus_18'])('customer(id: %j) is refused, so no entry outlives updateCustomer', async (id) => {
    const query = `{ customer(id: ${JSON.stringify(id)}) { id name } }`;
    const before = await cached.gql(DEMO_TOKENS.globexAdmin, query);
    expect(errorCodes(before.body)).toEqual(['customer:BAD_USER_INPUT']);
    const update = 'mutation { updateCustomer(id: "cus_18", input: { name: "Renamed Eighteen" }) { id name } }';
    for (const gateway of [cached, reference])
      expect((await gateway.gql(DEMO_TOKENS.globexAdmin, update)).body.data.updateCustomer.name).toBe('Renamed Eighteen');
    const after = await cached.gql(DEMO_TOKENS.globexAdmin, query);
    await expectOwnAnswer(after, DEMO_TOKENS.globexAdmin, query);
    const canonical = await cached.gql(DEMO_TOKENS.globexAdmin, '{ customer(id: "cus_18") { name } }');
    expect(canonical.body.data.customer.name).toBe('Renamed Eighteen');
  });

  it('the mutation refuses the same ids, before any write', async () => {
    const update = 'mutation { updateCustomer(id: " cus_18", input: { name: "Nope" }) { id } }';
    const refused = await cached.gql(DEMO_TOKENS.globexAdmin, update);
    expect(errorCodes(refused.body)).toEqual(['updateCustomer:BAD_USER_INPUT']);
    expect(cached.sampleServices.services.accounts.counters()['PATCH /customers/:id']).toBeUndefined();
    const place = 'mutation { placeOrder(input: { customerId: "cus_1", items: [{ productId: "prd_1,prd_2", quantity: 1 }] }) { id } }';
    expect(errorCodes((await cached.gql(DEMO_TOKENS.globexAdmin, place)).body)).toEqual(['placeOrder:BAD_USER_INPUT']);
    expect(cached.sampleServices.services.orders.counters()['POST /orders']).toBeUndefined();
  });

  it("a mutation also drops the tags of the objects it returns (the order's customer and products)", async () => {
    const read = '{ customer(id: "cus_4") { orders(first: 2) { id } } }';
    await cached.gql(DEMO_TOKENS.globexAdmin, read);
    expect(fieldsOf(await cached.gql(DEMO_TOKENS.globexAdmin, read))).toEqual({ customer: 'HIT', 'customer.orders': 'HIT' });
    const place = 'mutation { placeOrder(input: { customerId: "cus_4", items: [{ productId: "prd_2", quantity: 1 }] }) { id } }';
    const placed = await cached.gql(DEMO_TOKENS.globexAdmin, place);
    await reference.gql(DEMO_TOKENS.globexAdmin, place);
    const after = await cached.gql(DEMO_TOKENS.globexAdmin, read);
    expect(after.body.data.customer.orders[0].id).toBe(placed.body.data.placeOrder.id);
    await expectOwnAnswer(after, DEMO_TOKENS.globexAdmin, read);
  });
});

describe('defect 3: no value read before a mutation is stored as fresh', () => {
  it('dashboard.lowStock { inventory } racing placeOrder stores no pre-order stock', async () => {
    const dashboard = '{ dashboard { lowStock(threshold: 100000, first: 20) { id inventory { reserved } } } }';
    const ids: string[] = (await reference.gql(DEMO_TOKENS.globexAdmin, dashboard)).body.data.dashboard.lowStock.map((p: { id: string }) => p.id);
    const productId = ids[0]!;
    const inventory = cached.sampleServices.services.inventory;
    const catalog = cached.sampleServices.services.catalog;

    // The dashboard loads every stock level, then waits for the catalog: the order lands in between.
    catalog.setKnobs({ hang: true });
    const racing = cached.gql(DEMO_TOKENS.globexAdmin, dashboard);
    await expect.poll(() => catalog.requests().length, { timeout: 5000, interval: 5 }).toBeGreaterThan(0);
    expect(inventory.counters()['GET /stock']).toBe(1);
    const place = `mutation { placeOrder(input: { customerId: "cus_1", items: [{ productId: "${productId}", quantity: 3 }] }) { id } }`;
    expect((await cached.gql(DEMO_TOKENS.globexAdmin, place)).body.data.placeOrder.id).toMatch(/^ord_/);
    await reference.gql(DEMO_TOKENS.globexAdmin, place);
    catalog.setKnobs({ hang: false });
    await racing;

    // Whatever the racing request showed, what is stored now must be the stock after the order.
    const query = `{ product(id: "${productId}") { inventory { reserved } } }`;
    const after = await cached.gql(DEMO_TOKENS.globexAdmin, query);
    await expectOwnAnswer(after, DEMO_TOKENS.globexAdmin, query);
  });
});
