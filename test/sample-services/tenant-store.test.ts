import { describe, expect, it } from 'vitest';
import { createTenantStore } from '../../src/sample-services/tenant-store.js';

describe('createTenantStore', () => {
  it("keeps a tenant's writes when its seed is evicted from the cache", () => {
    const store = createTenantStore({ maxCachedTenants: 2 });
    const acme = store.tenant('acme');
    const product = acme.product('prd_1');
    if (!product) throw new Error('seed has no prd_1');
    const reservedBefore = acme.stock('prd_1')?.reserved ?? NaN;
    const order = acme.placeOrder('cus_1', [{ product, quantity: 2 }]);
    acme.updateCustomer('cus_1', { name: 'Kept Name' });

    for (const other of ['b', 'c', 'd']) store.tenant(other).customer('cus_1'); // pushes acme out

    const again = store.tenant('acme');
    expect(again.order(order.id)).toEqual(order);
    expect(again.customer('cus_1')?.name).toBe('Kept Name');
    expect(again.ordersOfCustomer('cus_1')[0]).toEqual(order);
    expect(again.stock('prd_1')?.reserved).toBe(reservedBefore + 2);

    store.reset();
    expect(store.tenant('acme').order(order.id)).toBeNull();
    expect(store.tenant('acme').customer('cus_1')?.name).not.toBe('Kept Name');
  });
});
