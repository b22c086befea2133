import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_TOKENS } from '../../src/config/demo.js';
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
    const before = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ product(id: "prd_3") { inventory { available } } }');
    const placed = await gateway.gql(
      DEMO_TOKENS.globexAdmin,
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status total { amountCents } items { quantity product { id } } customer { id } } }',
      { input: { customerId: 'cus_2', items: [{ productId: 'prd_3', quantity: 2 }] } },
    );
    expect(placed.body.errors).toBeUndefined();
    const order = placed.body.data.placeOrder;
    expect(order).toMatchObject({ status: 'PENDING', customer: { id: 'cus_2' }, items: [{ quantity: 2, product: { id: 'prd_3' } }] });
    const after = await gateway.gql(
      DEMO_TOKENS.globexAdmin,
      `{ order(id: "${order.id}") { id } customer(id: "cus_2") { orders(first: 1) { id } } product(id: "prd_3") { inventory { available } } }`,
    );
    expect(after.body.data.order.id).toBe(order.id);
    expect(after.body.data.customer.orders[0].id).toBe(order.id);
    expect(after.body.data.product.inventory.available).toBeLessThan(before.body.data.product.inventory.available);
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
