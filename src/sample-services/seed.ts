import { createRandom, hashString, type Random } from './prng.js';
import type { Customer, CustomerTier, LineItem, Order, OrderStatus, Product } from './records.js';
import { ADJECTIVES, CATEGORY_NOUNS, FIRST_NAMES, LAST_NAMES, MATERIALS, SELLING_POINTS, TAGS, WAREHOUSES } from './seed-words.js';

export const CUSTOMER_COUNT = 60;
export const PRODUCT_COUNT = 80;
export const MAX_ORDERS_PER_CUSTOMER = 8;
export const MIN_ORDERS_PER_TENANT = 150;

// Seeded timestamps are fixed (never derived from the clock) so the data is the same in every
// run; they all lie before any order placed at run time, which keeps "newest first" simple.
const CUSTOMERS_FROM = Date.UTC(2023, 0, 1);
const CUSTOMERS_UNTIL = Date.UTC(2024, 0, 1);
const ORDERS_UNTIL = Date.UTC(2025, 0, 1);

/** The per-product inputs of the volatile stock level (see `stock-level.ts`). */
export interface StockSeed {
  /** Units on hand before drift and sales; 0 means discontinued and stays 0. */
  base: number;
  reserved: number;
  warehouse: string;
}

/** Everything generated for one tenant. Read-only: writes live in `tenant-store.ts`. */
export interface TenantSeed {
  readonly tenantId: string;
  readonly customers: readonly Customer[];
  readonly customersById: ReadonlyMap<string, Customer>;
  readonly products: readonly Product[];
  readonly productsById: ReadonlyMap<string, Product>;
  readonly ordersNewestFirst: readonly Order[];
  readonly ordersById: ReadonlyMap<string, Order>;
  /** Newest first; customers without orders are absent. */
  readonly ordersByCustomer: ReadonlyMap<string, readonly Order[]>;
  readonly stock: ReadonlyMap<string, StockSeed>;
}

/** The same tenant id always yields the same data; different ids yield visibly different data. */
export function generateTenantSeed(tenantId: string): TenantSeed {
  const random = createRandom(hashString(tenantId));
  const products = generateProducts(random);
  const productsById = new Map(products.map((p) => [p.id, p]));
  const drafts = generateCustomers(random, emailDomain(tenantId));
  const orders = generateOrders(random, drafts, products);

  const ordersByCustomer = new Map<string, Order[]>();
  const lifetimeValue = new Map<string, number>();
  const ordersNewestFirst = [...orders].reverse();
  for (const order of ordersNewestFirst) {
    const list = ordersByCustomer.get(order.customerId) ?? [];
    list.push(order);
    ordersByCustomer.set(order.customerId, list);
    if (order.status === 'PAID' || order.status === 'SHIPPED') {
      lifetimeValue.set(order.customerId, (lifetimeValue.get(order.customerId) ?? 0) + order.totalCents);
    }
  }
  const customers = drafts.map(
    (draft): Customer =>
      Object.freeze({
        id: draft.id,
        name: draft.name,
        email: draft.email,
        tier: draft.tier,
        lifetimeValueCents: lifetimeValue.get(draft.id) ?? 0,
        createdAt: draft.createdAt,
      }),
  );

  const stock = new Map<string, StockSeed>();
  for (const product of products) {
    // About one product in ten is discontinued, so clients meet out-of-stock items.
    const base = random.next() < 0.1 ? 0 : random.int(20, 400);
    stock.set(product.id, { base, reserved: random.int(0, 15), warehouse: random.pick(WAREHOUSES) });
  }

  return {
    tenantId,
    customers,
    customersById: new Map(customers.map((c) => [c.id, c])),
    products,
    productsById,
    ordersNewestFirst,
    ordersById: new Map(orders.map((o) => [o.id, o])),
    ordersByCustomer,
    stock,
  };
}

/** The tenant id shows in every email address, so a cross-tenant leak is obvious on sight. */
function emailDomain(tenantId: string): string {
  const slug = tenantId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${slug || 'tenant'}.example`;
}

type CustomerDraft = Omit<Customer, 'lifetimeValueCents'> & { createdAtMs: number };

function generateCustomers(random: Random, domain: string): CustomerDraft[] {
  const tiers: CustomerTier[] = ['bronze', 'bronze', 'bronze', 'silver', 'silver', 'gold'];
  return Array.from({ length: CUSTOMER_COUNT }, (_, i) => {
    const first = random.pick(FIRST_NAMES);
    const last = random.pick(LAST_NAMES);
    const createdAtMs = random.int(CUSTOMERS_FROM / 1000, CUSTOMERS_UNTIL / 1000) * 1000;
    return {
      id: `cus_${i + 1}`,
      name: `${first} ${last}`,
      email: `${first}.${last}${i + 1}@${domain}`.toLowerCase(),
      tier: random.pick(tiers),
      createdAt: new Date(createdAtMs).toISOString(),
      createdAtMs,
    };
  });
}

function generateProducts(random: Random): Product[] {
  const categories = Object.keys(CATEGORY_NOUNS);
  return Array.from({ length: PRODUCT_COUNT }, (_, i) => {
    const category = random.pick(categories);
    const noun = random.pick(CATEGORY_NOUNS[category] ?? ['Thing']);
    const adjective = random.pick(ADJECTIVES);
    const material = random.pick(MATERIALS);
    return Object.freeze({
      id: `prd_${i + 1}`,
      name: `${adjective} ${material} ${noun}`,
      description: `A ${adjective.toLowerCase()} ${noun.toLowerCase()} in ${material.toLowerCase()}, ${random.pick(SELLING_POINTS)}.`,
      priceCents: random.int(2, 500) * 100 - 1, // $1.99 .. $499.99
      currency: 'USD' as const,
      category,
      tags: random.sample(TAGS, random.int(1, 3)),
    });
  });
}

function generateOrders(random: Random, customers: CustomerDraft[], products: Product[]): Order[] {
  const counts = customers.map(() => random.int(0, MAX_ORDERS_PER_CUSTOMER));
  let total = counts.reduce((sum, n) => sum + n, 0);
  while (total < MIN_ORDERS_PER_TENANT) {
    const i = random.int(0, counts.length - 1);
    if ((counts[i] ?? 0) < MAX_ORDERS_PER_CUSTOMER) {
      counts[i] = (counts[i] ?? 0) + 1;
      total++;
    }
  }
  const statuses: OrderStatus[] = ['PENDING', 'PAID', 'PAID', 'PAID', 'SHIPPED', 'SHIPPED', 'SHIPPED', 'CANCELLED'];
  const drafts: { at: number; order: Omit<Order, 'id'> }[] = [];
  customers.forEach((customer, i) => {
    for (let n = 0; n < (counts[i] ?? 0); n++) {
      const at = random.int(customer.createdAtMs / 1000, ORDERS_UNTIL / 1000) * 1000;
      const items: LineItem[] = random.sample(products, random.int(1, 5)).map((product) => ({
        productId: product.id,
        quantity: random.int(1, 4),
        unitPriceCents: product.priceCents,
      }));
      const order = {
        customerId: customer.id,
        status: random.pick(statuses),
        createdAt: new Date(at).toISOString(),
        items,
        totalCents: items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0),
      };
      drafts.push({ at, order });
    }
  });
  // Ids follow time (ord_1 is the oldest); the stable sort keeps equal timestamps in draft order.
  drafts.sort((a, b) => a.at - b.at);
  return drafts.map(({ order }, i) => Object.freeze({ id: `ord_${i + 1}`, ...order }));
}
