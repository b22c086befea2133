import { isPlainObject } from '../jsutils/is-plain-object.js';
import { HttpError, ok, orNotFound } from './http-kit.js';
import { batch, paginate, parseFirst, parseIdList } from './list-params.js';
import type { Order } from './records.js';
import { pathParam, type Route } from './router.js';
import type { OrderLine, TenantData } from './tenant-store.js';

/** Most line items one placed order may have. */
const MAX_ORDER_ITEMS = 100;
/** Largest quantity of one line item: keeps totals far from unsafe integers. */
const MAX_QUANTITY = 10_000;

/**
 * The orders service. Prices and customers come from the same per-tenant data the catalog and
 * accounts serve (in process, no HTTP), and placed orders reduce inventory's stock.
 */
export const ORDERS_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    template: '/orders',
    handle: ({ tenant, query }) => {
      const ids = parseIdList(query, 'ids');
      if (ids) return ok(batch(ids, tenant.order));
      const customerIds = parseIdList(query, 'customerIds');
      if (customerIds) {
        const first = parseFirst(query);
        // fromEntries defines own properties, so even an id like `__proto__` comes back as a key.
        const byCustomer: Record<string, readonly Order[]> = Object.fromEntries(customerIds.map((id) => [id, tenant.ordersOfCustomer(id).slice(0, first)]));
        return ok({ byCustomer });
      }
      return ok(paginate(tenant.ordersNewestFirst(), query));
    },
  },
  {
    method: 'GET',
    template: '/orders/:id',
    handle: (ctx) => {
      const id = pathParam(ctx, 'id');
      return ok(orNotFound(ctx.tenant.order(id), 'order', id));
    },
  },
  {
    method: 'POST',
    template: '/orders',
    handle: async ({ tenant, readJson }) => {
      const { customerId, lines } = parseNewOrder(tenant, await readJson());
      return ok(tenant.placeOrder(customerId, lines), 201);
    },
  },
];

function parseNewOrder(tenant: TenantData, body: unknown): { customerId: string; lines: OrderLine[] } {
  const fail = (message: string) => new HttpError(400, message);
  if (!isPlainObject(body)) throw fail(`request body must be a JSON object, got ${JSON.stringify(body)}`);
  const { customerId, items } = body;
  if (typeof customerId !== 'string') throw fail(`customerId must be a string, got ${JSON.stringify(customerId)}`);
  if (!tenant.customer(customerId)) throw fail(`unknown customerId: ${customerId}`);
  if (!Array.isArray(items) || items.length === 0) throw fail('items must be a non-empty array');
  if (items.length > MAX_ORDER_ITEMS) throw fail(`items must have at most ${MAX_ORDER_ITEMS} entries, got ${items.length}`);

  const lines = items.map((item: unknown, i): OrderLine => {
    if (!isPlainObject(item)) throw fail(`items[${i}] must be an object { productId, quantity }`);
    const { productId, quantity } = item;
    if (typeof productId !== 'string') throw fail(`items[${i}].productId must be a string, got ${JSON.stringify(productId)}`);
    const product = tenant.product(productId);
    if (!product) throw fail(`items[${i}].productId is unknown: ${productId}`);
    if (!Number.isInteger(quantity) || (quantity as number) < 1 || (quantity as number) > MAX_QUANTITY) {
      throw fail(`items[${i}].quantity must be an integer from 1 to ${MAX_QUANTITY}, got ${JSON.stringify(quantity)}`);
    }
    return { product, quantity: quantity as number };
  });
  return { customerId, lines };
}
