import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
import { generateTenantSeed } from '../../src/sample-services/seed.js';
import { stockLevel, STOCK_EPOCH_MS } from '../../src/sample-services/stock-level.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway.close();
});
beforeEach(() => {
  gateway.sampleServices.resetAll();
});

/** Calls each sample service received, keyed `service GET /route`. */
function downstreamCalls(): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const [name, service] of Object.entries(gateway.sampleServices.services)) {
    for (const [route, count] of Object.entries(service.counters())) calls[`${name} ${route}`] = count;
  }
  return calls;
}

/** `available` of one product as the inventory service answers it right now, asked directly. */
async function serviceAvailable(tenantId: string, productId: string): Promise<number> {
  const response = await fetch(`${gateway.sampleServices.urls.inventory}/stock/${productId}`, { headers: { 'x-tenant-id': tenantId } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { available: number }).available;
}

describe('composition through per-request DataLoaders', () => {
  it('resolves 50 orders with their items, products and inventory with one batched call per resource', async () => {
    const { status, body } = await gateway.gql(
      DEMO_TOKENS.globexAdmin,
      `{ orders(first: 50) { totalCount nodes { id total { amountCents }
           items { quantity product { id name price { formatted } inventory { available inStock } } } } } }`,
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const orders = body.data.orders.nodes;
    expect(orders).toHaveLength(50);
    const lines = orders.flatMap((o: any) => o.items);
    expect(lines.length).toBeGreaterThan(50);
    for (const line of lines) {
      expect(line.product.id).toMatch(/^prd_/);
      expect(typeof line.product.inventory.available).toBe('number');
    }
    expect(downstreamCalls()).toEqual({
      'orders GET /orders': 1,
      'catalog GET /products': 1,
      'inventory GET /stock': 1,
    });
  });

  it('batches the orders of a page of customers into one call, and dedupes repeated products', async () => {
    const { body } = await gateway.gql(
      DEMO_TOKENS.globexAdmin,
      '{ customers(first: 30) { nodes { id orders(first: 3) { id items { product { id name } } } } } }',
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.customers.nodes).toHaveLength(30);
    expect(downstreamCalls()).toEqual({
      'accounts GET /customers': 1,
      'orders GET /orders': 1,
      'catalog GET /products': 1,
    });
    const productCall = gateway.sampleServices.services.catalog.requests().find((r) => r.route === '/products')!;
    const ids = new URL(productCall.url, 'http://x').searchParams.get('ids')!.split(',');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('loads an id asked for twice in one request once', async () => {
    const { body } = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ a: product(id: "prd_1") { name } b: product(id: "prd_1") { id name } }');
    expect(body.data.a.name).toBe(body.data.b.name);
    const calls = gateway.sampleServices.services.catalog.requests();
    expect(calls).toHaveLength(1);
    expect(new URL(calls[0]!.url, 'http://x').searchParams.get('ids')).toBe('prd_1');
  });

  it('composes the dashboard from accounts, orders, catalog and inventory', async () => {
    const { body } = await gateway.gql(
      DEMO_TOKENS.globexAdmin,
      `{ dashboard { customerCount recentRevenue { amountCents formatted }
           recentOrders(first: 3) { id customer { name } items { product { name } } }
           lowStock(threshold: 1000, first: 2) { id inventory { available } } } }`,
    );
    expect(body.errors).toBeUndefined();
    const d = body.data.dashboard;
    expect(d.customerCount).toBe(60);
    expect(d.recentRevenue.amountCents).toBeGreaterThan(0);
    expect(d.recentRevenue.formatted).toMatch(/^\$[\d,]+\.\d\d$/);
    expect(d.recentOrders).toHaveLength(3);
    expect(d.recentOrders[0].customer.name).toEqual(expect.any(String));
    expect(d.lowStock).toHaveLength(2);
    // The recent orders page is fetched once although three dashboard fields use it.
    expect(downstreamCalls()['orders GET /orders']).toBe(1);
  });

  it('forwards the tenant id from the verified key and the request id to every service', async () => {
    const response = await gateway.gql(DEMO_TOKENS.acmeAdmin, '{ product(id: "prd_2") { name inventory { available } } }', undefined, {
      'x-request-id': 'trace-abc-123',
      'x-tenant-id': 'globex',
    });
    expect(response.headers.get('x-request-id')).toBe('trace-abc-123');
    for (const name of ['catalog', 'inventory'] as const) {
      const requests = gateway.sampleServices.services[name].requests();
      expect(requests.length).toBe(1);
      expect(requests[0]).toMatchObject({ tenantId: 'acme', requestId: 'trace-abc-123' });
    }
  });

  it('gives each tenant its own data for the same ids', async () => {
    const query = '{ viewer { tenant { id plan { id } } } customer(id: "cus_1") { name } product(id: "prd_1") { name price { amountCents } } }';
    const acme = await gateway.gql(DEMO_TOKENS.acmeAdmin, query);
    const globex = await gateway.gql(DEMO_TOKENS.globexAdmin, query);
    expect(acme.body.data.viewer.tenant).toEqual({ id: 'acme', plan: { id: 'free' } });
    expect(globex.body.data.viewer.tenant).toEqual({ id: 'globex', plan: { id: 'pro' } });
    expect(acme.body.data.customer.name).not.toBe(globex.body.data.customer.name);
    expect(acme.body.data.product).not.toEqual(globex.body.data.product);
  });

  it('pages through customers with Relay cursors', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const { body } = await gateway.gql(
        DEMO_TOKENS.globexAdmin,
        'query($after: String) { customers(first: 25, after: $after) { totalCount edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }',
        { after },
      );
      const c = body.data.customers;
      seen.push(...c.edges.map((e: any) => e.node.id));
      expect(c.pageInfo.endCursor).toBe(c.edges.at(-1).cursor);
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
  });

  it('resumes from the cursor of any edge, not only the last', async () => {
    const first = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ customers(first: 5) { edges { cursor node { id } } } }');
    const edges = first.body.data.customers.edges;
    const next = await gateway.gql(DEMO_TOKENS.globexAdmin, 'query($a: String) { customers(first: 2, after: $a) { nodes { id } } }', {
      a: edges[1].cursor,
    });
    expect(next.body.data.customers.nodes.map((n: any) => n.id)).toEqual([edges[2].node.id, edges[3].node.id]);
  });

  it('refuses a page size above the documented maximum with BAD_USER_INPUT, without calling the service', async () => {
    const { status, body } = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ customers(first: 500) { totalCount } }');
    expect(status).toBe(200);
    expect(body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(body.errors![0]!.message).toBe('first must be between 1 and 100: 500');
    expect(downstreamCalls()).toEqual({});
  });

  it('places an order and reads it back, with updated stock', async () => {
    const stockQuery = '{ product(id: "prd_3") { inventory { available reserved } } }';
    const before = await gateway.gql(DEMO_TOKENS.globexAdmin, stockQuery);
    const placed = await gateway.gql(
      DEMO_TOKENS.globexAdmin,
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status total { amountCents } items { quantity product { id } } customer { id } } }',
      { input: { customerId: 'cus_2', items: [{ productId: 'prd_3', quantity: 2 }] } },
    );
    expect(placed.body.errors).toBeUndefined();
    const order = placed.body.data.placeOrder;
    expect(order).toMatchObject({ status: 'PENDING', customer: { id: 'cus_2' }, items: [{ quantity: 2, product: { id: 'prd_3' } }] });
    // The sample stock level drifts every 5 s (STOCK_EPOCH_MS), so `available` is compared with
    // what the inventory service says around the read, not with the earlier read: on a loaded
    // machine the two reads (and a value cached up to 30 s earlier) fall in different epochs.
    const current = await serviceAvailable('globex', 'prd_3');
    const after = await gateway.gql(
      DEMO_TOKENS.globexAdmin,
      `{ order(id: "${order.id}") { id } customer(id: "cus_2") { orders(first: 1) { id } } product(id: "prd_3") { inventory { available reserved } } }`,
    );
    const later = await serviceAvailable('globex', 'prd_3');
    expect(after.body.data.order.id).toBe(order.id);
    expect(after.body.data.customer.orders[0].id).toBe(order.id);
    // The 2 units are reserved for the pending order (no drift in `reserved`)...
    expect(after.body.data.product.inventory.reserved).toBe(before.body.data.product.inventory.reserved + 2);
    // ...and taken from what is available now: no value read before the order is served after it.
    expect([current, later]).toContain(after.body.data.product.inventory.available);
  });

  it('reads the updated stock back when the stock level drifted up between the reads', async () => {
    // The failure seen once under load, made deterministic: Date is pinned to two consecutive
    // 5 s stock epochs in which the level rises by at least 2 units, more than the order takes, so
    // comparing the two reads with each other fails, with or without the cache. The stock must
    // still show the order. Tenant initech and prd_4, which no other test here reads (the pinned
    // clock is a minute ahead; none of their values is cached or in flight).
    const seed = generateTenantSeed('initech').stock.get('prd_4')!;
    const levelAt = (at: number) => stockLevel('initech', 'prd_4', seed, undefined, at).available;
    let epoch = (Math.floor(Date.now() / STOCK_EPOCH_MS) + 12) * STOCK_EPOCH_MS;
    while (levelAt(epoch + STOCK_EPOCH_MS) - levelAt(epoch) < 2) epoch += STOCK_EPOCH_MS;
    const stockQuery = '{ product(id: "prd_4") { inventory { available reserved } } }';
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(epoch + 100);
      const before = await gateway.gql(DEMO_TOKENS.initechAdmin, stockQuery);
      expect(before.body.data.product.inventory).toEqual({ available: levelAt(epoch), reserved: seed.reserved });
      const placed = await gateway.gql(DEMO_TOKENS.initechAdmin, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }', {
        input: { customerId: 'cus_2', items: [{ productId: 'prd_4', quantity: 2 }] },
      });
      expect(placed.body.errors).toBeUndefined();
      vi.setSystemTime(epoch + STOCK_EPOCH_MS + 100);
      const after = await gateway.gql(DEMO_TOKENS.initechAdmin, stockQuery);
      expect(after.body.data.product.inventory).toEqual({ available: levelAt(epoch + STOCK_EPOCH_MS) - 2, reserved: seed.reserved + 2 });
      // What the old assertion (after < before) got wrong: the level rose by more than the order took.
      expect(after.body.data.product.inventory.available).toBeGreaterThanOrEqual(before.body.data.product.inventory.available);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports a rejected write as BAD_USER_INPUT with the service message', async () => {
    const { body } = await gateway.gql(
      DEMO_TOKENS.globexAdmin,
      'mutation { placeOrder(input: { customerId: "cus_2", items: [{ productId: "prd_9999", quantity: 1 }] }) { id } }',
    );
    expect(body.data.placeOrder).toBeNull();
    expect(body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(body.errors![0]!.message).toContain('prd_9999');
  });

  it('updates a customer', async () => {
    const { body } = await gateway.gql(
      DEMO_TOKENS.globexSupport,
      'mutation { updateCustomer(id: "cus_4", input: { name: "Renamed Person", tier: GOLD }) { id name tier } }',
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.updateCustomer).toEqual({ id: 'cus_4', name: 'Renamed Person', tier: 'GOLD' });
    const read = await gateway.gql(DEMO_TOKENS.globexViewer, '{ customer(id: "cus_4") { name tier } }');
    expect(read.body.data.customer).toEqual({ name: 'Renamed Person', tier: 'GOLD' });
  });
});
