import DataLoader from 'dataloader';
import type { Downstream } from './downstream.js';
import type { CallContext } from './service-client.js';
import type { ServiceName } from '../config/schema.js';
import type { BatchRecord, CustomerRecord, OrderRecord, ProductRecord, StockRecord } from './records.js';

/** The sample services accept at most 200 ids per batch call; bigger batches are split. */
const MAX_BATCH = 200;

/**
 * One DataLoader per resource, created for one request and one tenant and dropped with it, so
 * nothing is shared across requests or tenants. Loads issued in the same tick become one batch
 * call per resource (`GET /products?ids=a,b,c`). An id the service does not know resolves to
 * `null` (the GraphQL field is nullable), a failed call rejects every key of its batch with the
 * `DownstreamError`, which GraphQL turns into a null field with that error's code.
 */
export function createLoaders(downstream: Downstream, call: CallContext) {
  function batchLoader<T>(service: ServiceName, path: string, param: string) {
    return new DataLoader<string, T | null>(
      async (ids) => {
        const query = `${param}=${ids.map(encodeURIComponent).join(',')}`;
        const body = await downstream.client(service).get<BatchRecord<T>>(`${path}?${query}`, call);
        return body.items;
      },
      { maxBatchSize: MAX_BATCH },
    );
  }

  const ordersByCustomer = new Map<number, DataLoader<string, OrderRecord[]>>();

  return {
    customers: batchLoader<CustomerRecord>('accounts', '/customers', 'ids'),
    products: batchLoader<ProductRecord>('catalog', '/products', 'ids'),
    orders: batchLoader<OrderRecord>('orders', '/orders', 'ids'),
    stock: batchLoader<StockRecord>('inventory', '/stock', 'productIds'),
    /** Orders of many customers in one call; one loader per page size since `first` is per call. */
    ordersOfCustomer(first: number): DataLoader<string, OrderRecord[]> {
      let loader = ordersByCustomer.get(first);
      if (!loader) {
        loader = new DataLoader<string, OrderRecord[]>(
          async (customerIds) => {
            const query = `customerIds=${customerIds.map(encodeURIComponent).join(',')}&first=${first}`;
            const body = await downstream
              .client('orders')
              .get<{ byCustomer: Record<string, OrderRecord[]> }>(`/orders?${query}`, call);
            return customerIds.map((id) => body.byCustomer[id] ?? []);
          },
          { maxBatchSize: MAX_BATCH },
        );
        ordersByCustomer.set(first, loader);
      }
      return loader;
    },
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
