import { describe, expect, it } from 'vitest';
import { CUSTOMER_COUNT, MAX_ORDERS_PER_CUSTOMER, MIN_ORDERS_PER_TENANT, PRODUCT_COUNT, generateTenantSeed } from '../../src/sample-services/seed.js';

describe('generateTenantSeed', () => {
  it('generates the same data for the same tenant every time', () => {
    expect(JSON.stringify(generateTenantSeed('acme').ordersNewestFirst)).toBe(JSON.stringify(generateTenantSeed('acme').ordersNewestFirst));
    expect(generateTenantSeed('acme').customers).toEqual(generateTenantSeed('acme').customers);
  });

  it('gives two tenants different data under the same ids', () => {
    const a = generateTenantSeed('acme');
    const b = generateTenantSeed('globex');
    const differing = a.customers.filter((c, i) => c.name !== b.customers[i]?.name);
    // Name lists are finite, so a few may collide; most must not.
    expect(differing.length).toBeGreaterThan(CUSTOMER_COUNT / 2);
    expect(a.customers[0]?.email).toMatch(/@acme\.example$/);
    expect(b.customers[0]?.email).toMatch(/@globex\.example$/);
    expect(a.products.map((p) => p.priceCents)).not.toEqual(b.products.map((p) => p.priceCents));
  });

  it.each(['acme', 'globex', '', 'tenant with spaces / and ünïcode', 'x'.repeat(200)])(
    'has the documented sizes and consistent references for tenant %j',
    (tenantId) => {
      const seed = generateTenantSeed(tenantId);
      expect(seed.customers.map((c) => c.id)).toEqual(Array.from({ length: CUSTOMER_COUNT }, (_, i) => `cus_${i + 1}`));
      expect(seed.products.map((p) => p.id)).toEqual(Array.from({ length: PRODUCT_COUNT }, (_, i) => `prd_${i + 1}`));
      expect(seed.ordersById.size).toBeGreaterThanOrEqual(MIN_ORDERS_PER_TENANT);
      expect([...seed.ordersById.keys()].sort()).toEqual(Array.from({ length: seed.ordersById.size }, (_, i) => `ord_${i + 1}`).sort());
      for (const customer of seed.customers) {
        expect(seed.ordersByCustomer.get(customer.id)?.length ?? 0).toBeLessThanOrEqual(MAX_ORDERS_PER_CUSTOMER);
      }
      for (const order of seed.ordersById.values()) {
        expect(seed.customersById.has(order.customerId)).toBe(true);
        expect(order.items.length).toBeGreaterThanOrEqual(1);
        expect(order.items.length).toBeLessThanOrEqual(5);
        for (const item of order.items) {
          expect(item.unitPriceCents).toBe(seed.productsById.get(item.productId)?.priceCents);
        }
        expect(order.totalCents).toBe(order.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0));
      }
      const times = seed.ordersNewestFirst.map((o) => Date.parse(o.createdAt));
      expect(times).toEqual([...times].sort((x, y) => y - x));
    },
  );

  it('counts only paid and shipped orders in a customer lifetime value', () => {
    const seed = generateTenantSeed('acme');
    for (const customer of seed.customers) {
      const expected = (seed.ordersByCustomer.get(customer.id) ?? [])
        .filter((o) => o.status === 'PAID' || o.status === 'SHIPPED')
        .reduce((sum, o) => sum + o.totalCents, 0);
      expect(customer.lifetimeValueCents).toBe(expected);
    }
  });
});
