import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Batch, Order, Stock } from '../../src/sample-services/records.js';
import { startSampleServices, type SampleServices } from '../../src/sample-services/start.js';
import { STOCK_EPOCH_MS } from '../../src/sample-services/stock-level.js';
import { call } from './call.js';

let services: SampleServices;
let inventory: string;

beforeAll(async () => {
  services = await startSampleServices();
  inventory = services.urls.inventory;
});
afterAll(() => services.close());
beforeEach(() => {
  services.resetAll();
  // Only Date is faked (the servers run in this process): stock levels drift with the clock, so
  // tests pin it to the start of an epoch close to now and move it on purpose.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Math.ceil(Date.now() / STOCK_EPOCH_MS) * STOCK_EPOCH_MS);
});
afterEach(() => {
  vi.useRealTimers();
});

const stockOf = async (productId: string, tenant = 'acme') => (await call<Stock>(`${inventory}/stock/${productId}`, { tenant })).body;

describe('inventory', () => {
  it('answers batches in order with nulls and duplicates, keyed by productIds', async () => {
    const { status, body } = await call<Batch<Stock>>(`${inventory}/stock?productIds=prd_2,prd_0,prd_2,prd_80`);
    expect(status).toBe(200);
    expect(body.items.map((s) => s?.productId ?? null)).toEqual(['prd_2', null, 'prd_2', 'prd_80']);
    expect(body.items[0]).toEqual(await stockOf('prd_2'));
    expect(await call(`${inventory}/stock`)).toMatchObject({
      status: 400,
      body: { error: 'productIds is required, e.g. /stock?productIds=prd_1,prd_2' },
    });
    expect((await call(`${inventory}/stock/prd_0`)).status).toBe(404);
  });

  it('is stable within an epoch, drifts across epochs, and differs by tenant', async () => {
    const ids = Array.from({ length: 80 }, (_, i) => `prd_${i + 1}`).join(',');
    const levels = async (tenant = 'acme') =>
      (await call<Batch<Stock>>(`${inventory}/stock?productIds=${ids}`, { tenant })).body.items.map((s) => s?.available);
    const now = await levels();
    vi.setSystemTime(Date.now() + STOCK_EPOCH_MS - 1);
    expect(await levels()).toEqual(now);
    vi.setSystemTime(Date.now() + 1);
    expect(await levels()).not.toEqual(now);
    expect(await levels('globex')).not.toEqual(await levels('acme'));
  });

  it('takes placed order quantities out of available and into reserved', async () => {
    // Find a product in stock (about one in ten is discontinued at 0).
    const all = await call<Batch<Stock>>(`${inventory}/stock?productIds=prd_1,prd_2,prd_3,prd_4,prd_5,prd_6`);
    const before = all.body.items.find((s) => (s?.available ?? 0) > 5) as Stock;
    expect(before).toBeDefined();
    const otherTenantBefore = await stockOf(before.productId, 'globex');

    const placed = await call<Order>(`${services.urls.orders}/orders`, {
      method: 'POST',
      body: {
        customerId: 'cus_1',
        items: [
          { productId: before.productId, quantity: 3 },
          { productId: before.productId, quantity: 2 },
        ],
      },
    });
    expect(placed.status).toBe(201);

    const after = await stockOf(before.productId);
    expect(after.available).toBe(before.available - 5);
    expect(after.reserved).toBe(before.reserved + 5);
    expect(after.updatedAt).toBe(placed.body.createdAt);
    // Another tenant's stock of the same product is untouched.
    expect(await stockOf(before.productId, 'globex')).toEqual(otherTenantBefore);

    services.resetAll();
    expect(await stockOf(before.productId)).toEqual(before);
  });
});
