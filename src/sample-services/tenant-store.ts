import { generateTenantSeed, type TenantSeed } from './seed.js';
import { stockLevel, type SoldUnits } from './stock-level.js';
import type { Customer, LineItem, Order, Product, Stock } from './records.js';

/** What one tenant wrote since the last reset; merged over its seed on every read. */
interface TenantWrites {
  customers: Map<string, Customer>;
  /** Oldest first, like the seeded ids. */
  placedOrders: Order[];
  placedById: Map<string, Order>;
  placedByCustomer: Map<string, Order[]>;
  sold: Map<string, SoldUnits>;
}

export interface OrderLine {
  product: Product;
  quantity: number;
}

/** One tenant's data as the services see it: the seed with that tenant's writes on top. */
export interface TenantData {
  readonly tenantId: string;
  customer(id: string): Customer | null;
  customers(): readonly Customer[];
  updateCustomer(id: string, patch: Partial<Pick<Customer, 'name' | 'email' | 'tier'>>): Customer | null;
  product(id: string): Product | null;
  products(): readonly Product[];
  order(id: string): Order | null;
  ordersNewestFirst(): readonly Order[];
  ordersOfCustomer(customerId: string): readonly Order[];
  /** The caller has checked that the customer and products exist and quantities are valid. */
  placeOrder(customerId: string, lines: readonly OrderLine[]): Order;
  stock(productId: string): Stock | null;
}

export interface TenantStoreOptions {
  /** Seeds kept in memory; older ones are regenerated on demand (default 1000). */
  maxCachedTenants?: number;
}

/**
 * Per-tenant data shared by all four services, so an order placed through `orders` shows up in
 * `inventory`. Seeds are a bounded cache (they can be regenerated); writes are state and are
 * kept, per tenant, until `reset()`.
 */
export function createTenantStore(options: TenantStoreOptions = {}) {
  const maxCachedTenants = options.maxCachedTenants ?? 1000;
  const seeds = new Map<string, TenantSeed>();
  const writes = new Map<string, TenantWrites>();

  function seedOf(tenantId: string): TenantSeed {
    let seed = seeds.get(tenantId);
    if (seed) {
      // Map keeps insertion order: re-inserting makes this tenant the most recently used.
      seeds.delete(tenantId);
    } else {
      seed = generateTenantSeed(tenantId);
      if (seeds.size >= maxCachedTenants) seeds.delete(seeds.keys().next().value as string);
    }
    seeds.set(tenantId, seed);
    return seed;
  }

  function writesOf(tenantId: string): TenantWrites {
    let w = writes.get(tenantId);
    if (!w) {
      w = { customers: new Map(), placedOrders: [], placedById: new Map(), placedByCustomer: new Map(), sold: new Map() };
      writes.set(tenantId, w);
    }
    return w;
  }

  function tenant(tenantId: string): TenantData {
    const seed = seedOf(tenantId);
    const written = (): TenantWrites | undefined => writes.get(tenantId);
    const customer = (id: string): Customer | null => written()?.customers.get(id) ?? seed.customersById.get(id) ?? null;

    return {
      tenantId,
      customer,
      customers: () => {
        const patched = written()?.customers;
        if (!patched?.size) return seed.customers;
        return seed.customers.map((c) => patched.get(c.id) ?? c);
      },
      updateCustomer: (id, patch) => {
        const current = customer(id);
        if (!current) return null;
        const updated = Object.freeze({ ...current, ...patch });
        writesOf(tenantId).customers.set(id, updated);
        return updated;
      },
      product: (id) => seed.productsById.get(id) ?? null,
      products: () => seed.products,
      order: (id) => seed.ordersById.get(id) ?? written()?.placedById.get(id) ?? null,
      ordersNewestFirst: () => {
        const placed = written()?.placedOrders;
        if (!placed?.length) return seed.ordersNewestFirst;
        return [...placed].reverse().concat(seed.ordersNewestFirst);
      },
      ordersOfCustomer: (customerId) => {
        const seeded = seed.ordersByCustomer.get(customerId) ?? [];
        const placed = written()?.placedByCustomer.get(customerId);
        if (!placed?.length) return seeded;
        return [...placed].reverse().concat(seeded);
      },
      placeOrder: (customerId, lines) => {
        const w = writesOf(tenantId);
        const now = Date.now();
        const items: LineItem[] = lines.map(({ product, quantity }) => ({
          productId: product.id,
          quantity,
          unitPriceCents: product.priceCents,
        }));
        const order: Order = Object.freeze({
          id: `ord_${seed.ordersById.size + w.placedOrders.length + 1}`,
          customerId,
          status: 'PENDING' as const,
          createdAt: new Date(now).toISOString(),
          items,
          totalCents: items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0),
        });
        w.placedOrders.push(order);
        w.placedById.set(order.id, order);
        w.placedByCustomer.set(customerId, [...(w.placedByCustomer.get(customerId) ?? []), order]);
        for (const item of items) {
          const sold = w.sold.get(item.productId);
          w.sold.set(item.productId, { units: (sold?.units ?? 0) + item.quantity, lastAt: now });
        }
        return order;
      },
      stock: (productId) => {
        const stockSeed = seed.stock.get(productId);
        if (!stockSeed) return null;
        return stockLevel(tenantId, productId, stockSeed, written()?.sold.get(productId), Date.now());
      },
    };
  }

  return {
    tenant,
    /** Forgets every tenant's writes: all data is back to the seeded state. */
    reset(): void {
      writes.clear();
    },
  };
}

export type TenantStore = ReturnType<typeof createTenantStore>;
