import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Batch, Order, Page, Product } from '../../src/sample-services/records.js';
import { startSampleServices, type SampleServices } from '../../src/sample-services/start.js';
import { call } from './call.js';

let services: SampleServices;
let orders: string;

beforeAll(async () => {
  services = await startSampleServices();
  orders = services.urls.orders;
});
afterAll(() => services.close());
beforeEach(() => services.resetAll());

type ByCustomer = { byCustomer: Record<string, Order[]> };

describe('orders: reading', () => {
  it('pages all orders newest first, at least 150 per tenant', async () => {
    const { body } = await call<Page<Order>>(`${orders}/orders?first=100`);
    expect(body.totalCount).toBeGreaterThanOrEqual(150);
    const times = body.items.map((o) => Date.parse(o.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(body.pageInfo.hasNextPage).toBe(true);
  });

  it('groups orders by customer, newest first, at most `first` each, every id present', async () => {
    const all = await call<Page<Order>>(`${orders}/orders?first=100`);
    const customerId = (all.body.items[0] as Order).customerId;
    const { status, body } = await call<ByCustomer>(`${orders}/orders?customerIds=${customerId},cus_404,__proto__&first=2`);
    expect(status).toBe(200);
    expect(Object.keys(body.byCustomer).sort()).toEqual([customerId, 'cus_404', '__proto__'].sort());
    expect(body.byCustomer.cus_404).toEqual([]);
    const mine = body.byCustomer[customerId] as Order[];
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length).toBeLessThanOrEqual(2);
    expect(mine[0]).toEqual(all.body.items[0]); // the newest order overall is this customer's newest
    expect(mine.every((o) => o.customerId === customerId)).toBe(true);
  });

  it('answers batches in order with nulls, and single orders with 404 when absent', async () => {
    const { body } = await call<Batch<Order>>(`${orders}/orders?ids=ord_2,ord_99999,ord_1,ord_2`);
    expect(body.items.map((o) => o?.id ?? null)).toEqual(['ord_2', null, 'ord_1', 'ord_2']);
    expect((await call<Order>(`${orders}/orders/ord_1`)).body).toEqual(body.items[2]);
    expect((await call(`${orders}/orders/ord_99999`)).status).toBe(404);
  });
});

describe('orders: placing', () => {
  it('creates a PENDING order priced from the tenant catalog, visible to the customer', async () => {
    const products = await call<Batch<Product>>(`${services.urls.catalog}/products?ids=prd_1,prd_2`);
    const [p1, p2] = products.body.items as [Product, Product];
    const placed = await call<Order>(`${orders}/orders`, {
      method: 'POST',
      body: {
        customerId: 'cus_5',
        items: [
          { productId: 'prd_1', quantity: 3 },
          { productId: 'prd_2', quantity: 1 },
        ],
      },
    });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      customerId: 'cus_5',
      status: 'PENDING',
      items: [
        { productId: 'prd_1', quantity: 3, unitPriceCents: p1.priceCents },
        { productId: 'prd_2', quantity: 1, unitPriceCents: p2.priceCents },
      ],
      totalCents: 3 * p1.priceCents + p2.priceCents,
    });
    const total = (await call<Page<Order>>(`${orders}/orders?first=1`)).body;
    expect(total.items[0]).toEqual(placed.body); // newest first
    const mine = await call<ByCustomer>(`${orders}/orders?customerIds=cus_5`);
    expect(mine.body.byCustomer.cus_5?.[0]).toEqual(placed.body);
    expect((await call<Order>(`${orders}/orders/${placed.body.id}`)).body).toEqual(placed.body);
    // Other tenants do not see it: their newest order is still a seeded one (all before 2025).
    const elsewhere = await call<Page<Order>>(`${orders}/orders?first=1`, { tenant: 'globex' });
    expect(Date.parse(elsewhere.body.items[0]?.createdAt ?? '')).toBeLessThan(Date.UTC(2025, 0, 1));
    const sameId = await call<Order | { error: string }>(`${orders}/orders/${placed.body.id}`, { tenant: 'globex' });
    expect(sameId.body).not.toEqual(placed.body);
  });

  it('forgets placed orders on resetAll', async () => {
    const before = (await call<Page<Order>>(`${orders}/orders?first=1`)).body.totalCount;
    const placed = await call<Order>(`${orders}/orders`, {
      method: 'POST',
      body: { customerId: 'cus_1', items: [{ productId: 'prd_1', quantity: 1 }] },
    });
    expect(placed.body.id).toBe(`ord_${before + 1}`);
    expect((await call<Page<Order>>(`${orders}/orders?first=1`)).body.totalCount).toBe(before + 1);
    services.resetAll();
    expect((await call<Page<Order>>(`${orders}/orders?first=1`)).body.totalCount).toBe(before);
    expect((await call(`${orders}/orders/${placed.body.id}`)).status).toBe(404);
  });

  it.each([
    [{ customerId: 'cus_999', items: [{ productId: 'prd_1', quantity: 1 }] }, 'unknown customerId: cus_999'],
    [{ customerId: 'cus_1', items: [{ productId: 'prd_999', quantity: 1 }] }, 'items[0].productId is unknown: prd_999'],
    [{ customerId: 'cus_1', items: [] }, 'items must be a non-empty array'],
    [{ customerId: 'cus_1' }, 'items must be a non-empty array'],
    [
      {
        customerId: 'cus_1',
        items: [
          { productId: 'prd_1', quantity: 1 },
          { productId: 'prd_2', quantity: 0 },
        ],
      },
      'items[1].quantity must be an integer from 1 to 10000, got 0',
    ],
    [{ customerId: 'cus_1', items: [{ productId: 'prd_1', quantity: 1.5 }] }, 'items[0].quantity must be an integer from 1 to 10000, got 1.5'],
    [{ customerId: 'cus_1', items: [{ productId: 'prd_1', quantity: '2' }] }, 'items[0].quantity must be an integer from 1 to 10000, got "2"'],
    [{ items: [{ productId: 'prd_1', quantity: 1 }] }, 'customerId must be a string, got undefined'],
    ['null', 'request body must be a JSON object, got null'],
  ])('refuses %j', async (body, error) => {
    const response = await call(`${orders}/orders`, { method: 'POST', body });
    expect(response).toMatchObject({ status: 400, body: { error } });
  });

  it('refuses malformed JSON and an empty body, and places nothing', async () => {
    const before = (await call<Page<Order>>(`${orders}/orders?first=1`)).body.totalCount;
    const malformed = await call<{ error: string }>(`${orders}/orders`, { method: 'POST', body: '{"customerId": "cus_1",' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatch(/^request body is not valid JSON/);
    const empty = await fetch(`${orders}/orders`, { method: 'POST', headers: { 'x-tenant-id': 'acme' } });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toEqual({ error: 'request body must be JSON, got an empty body' });
    expect((await call<Page<Order>>(`${orders}/orders?first=1`)).body.totalCount).toBe(before);
  });
});
