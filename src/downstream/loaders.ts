import type { Downstream } from './downstream.js';
import type { CallContext } from './call-context.js';
import type { ServiceName } from '../config/schema.js';
import { DownstreamError, GatewayError } from '../errors/gateway-error.js';
import { idProblem, isCanonicalId } from './ids.js';
import { createMemoLoader, createReadClock, type MemoLoader, type ReadClock } from './memo-loader.js';
import type { BatchRecord, CustomerRecord, OrderRecord, PageRecord, ProductRecord, StockRecord } from './records.js';

/** Orders the dashboard looks at: revenue and low stock are computed over this many. */
export const RECENT_WINDOW = 100;

/**
 * One loader per resource, created for one request and one tenant and dropped with it, so nothing
 * is shared across requests or tenants. Loads issued in the same tick become one batch call per
 * resource (`GET /products?ids=a,b,c`).
 *
 * Answers are matched to ids by the id each record carries, never by position: a service that
 * answers fewer, more or reordered items cannot hand one id another's object. An id the answer
 * does not account for is an Error in its own slot; an id the service answers `null` for (its slot
 * null, and the answer one slot per id) resolves to `null` (the GraphQL fields are nullable). An id
 * outside the id grammar (ids.ts) is never sent: BAD_USER_INPUT in its slot. A failed call rejects
 * every key of its batch with the `DownstreamError`, which GraphQL turns into a null field with
 * that error's code.
 *
 * Every loader remembers when each value was fetched (memo-loader.ts), and `since(mark)` gives the
 * same loaders seen from a moment of the request: what the field cache resolves a miss with.
 */
export function createLoaders(downstream: Downstream, call: CallContext) {
  return buildLoaders(downstream, call, createReadClock());
}

function buildLoaders(downstream: Downstream, call: CallContext, clock: ReadClock) {
  function byIds<T>(service: ServiceName, path: string, param: string, idOf: (record: T) => unknown): MemoLoader<T | null> {
    return createMemoLoader<T | null>(clock, async (ids) => {
      const sendable = ids.filter(isCanonicalId);
      const items =
        sendable.length === 0
          ? []
          : (await downstream.client(service).get<BatchRecord<T>>(`${path}?${param}=${sendable.map(encodeURIComponent).join(',')}`, call)).items;
      const matched = matchById(service, sendable, Array.isArray(items) ? items : [], idOf);
      return ids.map((id) => (isCanonicalId(id) ? matched.get(id)! : new GatewayError('BAD_USER_INPUT', idProblem('id', id))));
    });
  }

  const ordersByCustomer = new Map<number, MemoLoader<OrderRecord[]>>();
  const customers = byIds<CustomerRecord>('accounts', '/customers', 'ids', (c) => c.id);
  const products = byIds<ProductRecord>('catalog', '/products', 'ids', (p) => p.id);
  const orders = byIds<OrderRecord>('orders', '/orders', 'ids', (o) => o.id);
  const stock = byIds<StockRecord>('inventory', '/stock', 'productIds', (s) => s.productId);
  /** The newest orders, `first` of them (key: `first` as text); their items primed into `orders`. */
  const recentOrders = createMemoLoader<OrderRecord[]>(clock, (keys, stamp) =>
    Promise.all(
      keys.map(async (first) => {
        const page = await downstream.client('orders').get<PageRecord<OrderRecord>>(`/orders?first=${encodeURIComponent(first)}`, call);
        for (const order of page.items) orders.prime(order.id, order, stamp);
        return page.items;
      }),
    ),
  );

  function ordersOfCustomer(first: number): MemoLoader<OrderRecord[]> {
    let loader = ordersByCustomer.get(first);
    if (!loader) {
      loader = createMemoLoader<OrderRecord[]>(clock, async (customerIds) => {
        const sendable = customerIds.filter(isCanonicalId);
        const byCustomer =
          sendable.length === 0
            ? {}
            : (
                await downstream
                  .client('orders')
                  .get<{ byCustomer: Record<string, OrderRecord[]> }>(`/orders?customerIds=${sendable.map(encodeURIComponent).join(',')}&first=${first}`, call)
              ).byCustomer;
        return customerIds.map((id) => {
          if (!isCanonicalId(id)) return new GatewayError('BAD_USER_INPUT', idProblem('id', id));
          const list = Object.hasOwn(byCustomer, id) ? byCustomer[id] : [];
          if (!Array.isArray(list)) return missing('orders', id);
          // Each order must be this customer's: a list keyed by the wrong id is refused whole.
          return list.every((order) => order?.customerId === id) ? list : missing('orders', id);
        });
      });
      ordersByCustomer.set(first, loader);
    }
    return loader;
  }

  /** The loaders seen from clock reading `mark` (0: every memoised value is good). */
  function view(mark: number) {
    return {
      customers: customers.since(mark),
      products: products.since(mark),
      orders: orders.since(mark),
      stock: stock.since(mark),
      recentOrders: recentOrders.since(mark),
      /** Orders of many customers in one call; one loader per page size since `first` is per call. */
      ordersOfCustomer: (first: number) => ordersOfCustomer(first).since(mark),
      /** The request's read clock: take `now()` before fetching a page whose items you prime. */
      clock,
      /** These loaders seen from clock reading `later`: values fetched before it are fetched again. */
      since: (later: number) => view(Math.max(mark, later)),
    };
  }
  return view(0);
}

export type Loaders = ReturnType<typeof createLoaders>;

/**
 * The answer's items by their own id. Per requested id: its item; else `null` when the answer has
 * one slot per id and that id's slot is null (the service does not know it); else an Error.
 */
function matchById<T>(service: string, ids: readonly string[], items: readonly (T | null)[], idOf: (record: T) => unknown): Map<string, T | null | Error> {
  const byId = new Map<string, T>();
  for (const item of items) {
    if (typeof item !== 'object' || item === null) continue;
    const id = idOf(item);
    if (typeof id === 'string' && !byId.has(id)) byId.set(id, item);
  }
  const aligned = items.length === ids.length;
  return new Map(ids.map((id, i) => [id, byId.get(id) ?? (aligned && items[i] === null ? null : missing(service, id))]));
}

function missing(service: string, id: string): DownstreamError {
  return new DownstreamError('DOWNSTREAM_UNAVAILABLE', service, 'bad_response', `${service} service answered nothing for id ${JSON.stringify(id)}`);
}
