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

/** POST /graphql with a request-body `extensions` (the test helper sends none). */
async function post(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKENS.initechAdmin}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const ORDERS = '{ orders(first: 50) { nodes { items { product { inventory { available } } } } } }';

describe('extensions.cost on every response', () => {
  it('reports the estimate, the actual cost and the type cost', async () => {
    const { status, body } = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ viewer { clientId tenant { id } } }');
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    // viewer: 1 (an object), tenant: 1, scalars 0: requested 2. Type cost: Query + Viewer + Tenant = 3.
    expect((body as any).extensions.cost).toMatchObject({ requested: 2, actual: 2, typeCost: 3 });
  });

  it('prices 50 orders with their items, products and stock as computed by hand, and counts what came back', async () => {
    const { body } = await gateway.gql(DEMO_TOKENS.initechAdmin, ORDERS);
    expect(body.errors).toBeUndefined();
    // orders: 1 (the connection, once; `first: 50` sizes its `nodes`)
    // nodes: 1, once
    // items: 1 per order = 50 (each order's items assumed to be 5: @listSize(assumedSize: 5))
    // product: 1 per line item = 50 * 5 = 250
    // inventory: @cost "2" per product = 2 * 250 = 500
    // available: an Int, 0
    // requested = 1 + 1 + 50 + 250 + 500 = 802
    // Type cost: Query 1 + OrderConnection 1 + 50 Order + 250 LineItem + 250 Product + 250 Stock = 802.
    const cost = (body as any).extensions.cost;
    expect(cost).toMatchObject({ requested: 802, typeCost: 802 });
    // Actual: the same weights over the real lines (1 to 5 per order): 2 + 50 orders + 1 per line + 2 per product.
    const lines = body.data.orders.nodes.flatMap((o: any) => o.items);
    const products = lines.filter((l: any) => l.product !== null);
    expect(cost.actual).toBe(1 + 1 + 50 + lines.length + 2 * products.length);
    expect(cost.actual).toBeLessThan(cost.requested);
  });

  it('charges the mutation weight and its input', async () => {
    const { body } = await gateway.gql(DEMO_TOKENS.globexAdmin, 'mutation { updateCustomer(id: "cus_5", input: { name: "Costed Person" }) { id } }');
    expect(body.errors).toBeUndefined();
    // updateCustomer: @cost "10" + its input object argument (1) = 11.
    expect((body as any).extensions.cost).toMatchObject({ requested: 11, actual: 11 });
  });

  it('gives an operation that fails validation no cost', async () => {
    const { status, body } = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ nope }');
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((body as any).extensions?.cost).toBeUndefined();
  });

  it('refuses variables of the wrong type before pricing, as execution would', async () => {
    const { status, body } = await gateway.gql(DEMO_TOKENS.globexAdmin, 'query($n: Int) { customers(first: $n) { totalCount } }', { n: 'ten' });
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(body.errors![0]!.message).toBe('Variable "$n" got invalid value "ten"; Int cannot represent non-integer value: "ten"');
    expect((body as any).extensions?.cost).toBeUndefined();
    expect(downstreamCalls()).toEqual({});
  });
});

describe('dry run', () => {
  it('answers the price for x-cost-dry-run: 1 without calling any service', async () => {
    const { status, body } = await gateway.gql(DEMO_TOKENS.initechAdmin, ORDERS, undefined, { 'x-cost-dry-run': '1' });
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(body.errors).toBeUndefined();
    const cost = (body as any).extensions.cost;
    expect(cost).toMatchObject({ requested: 802, typeCost: 802 });
    expect(cost.actual).toBeUndefined();
    expect(cost.breakdown).toContainEqual({ path: 'orders.nodes.items.product.inventory', cost: 2, multiplier: 250 });
    expect(downstreamCalls()).toEqual({});
  });

  it('takes `extensions.dryRun: true` in the body, and does not run a mutation', async () => {
    const { status, body } = await post({
      query: 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
      variables: {
        input: {
          customerId: 'cus_2',
          items: [
            { productId: 'prd_3', quantity: 1 },
            { productId: 'prd_4', quantity: 2 },
          ],
        },
      },
      extensions: { dryRun: true },
    });
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    // placeOrder: @cost "10" + input (an input object, 1) + items (1 per element, 2) = 13.
    expect(body.extensions.cost).toMatchObject({ requested: 13, typeCost: 2 });
    expect(downstreamCalls()).toEqual({});
  });

  it('accepts x-cost-dry-run: true, and runs normally without the header', async () => {
    const dry = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ products(first: 3) { name } }', undefined, { 'x-cost-dry-run': 'true' });
    expect(dry.body.data).toBeNull();
    expect(downstreamCalls()).toEqual({});
    const wet = await gateway.gql(DEMO_TOKENS.globexAdmin, '{ products(first: 3) { name } }');
    expect(wet.body.data.products).toHaveLength(3);
    expect(downstreamCalls()).toEqual({ 'catalog GET /products': 1 });
  });
});
