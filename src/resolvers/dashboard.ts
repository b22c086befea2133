import type { Resolvers } from '../graph/generated/resolvers-types.js';
import type { CustomerRecord, OrderRecord, PageRecord, ProductRecord } from '../downstream/records.js';
import { callOf, tenantScope, type GatewayContext } from '../graph/context.js';
import { pageSize } from './arguments.js';
import { money } from './money.js';

/** Orders the dashboard looks at: revenue and low stock are computed over this many. */
const RECENT_WINDOW = 100;

/**
 * The dashboard's parent value: the recent orders page, fetched at most once per request however
 * many dashboard fields ask for it.
 */
export interface DashboardParent {
  recentOrders(): Promise<OrderRecord[]>;
}

function dashboardParent(ctx: GatewayContext): DashboardParent {
  const { principal, loaders } = tenantScope(ctx);
  let recent: Promise<OrderRecord[]> | undefined;
  return {
    recentOrders() {
      recent ??= ctx.downstream
        .client('orders')
        .get<PageRecord<OrderRecord>>(`/orders?first=${RECENT_WINDOW}`, callOf(ctx, principal))
        .then((page) => {
          for (const order of page.items) loaders.orders.prime(order.id, order);
          return page.items;
        });
      return recent;
    },
  };
}

export const dashboardResolvers: Resolvers = {
  Query: {
    dashboard: (_root, _args, ctx) => dashboardParent(ctx),
  },
  Dashboard: {
    customerCount: async (_parent, _args, ctx) => {
      const { principal } = tenantScope(ctx);
      const page = await ctx.downstream
        .client('accounts')
        .get<PageRecord<CustomerRecord>>('/customers?first=1', callOf(ctx, principal));
      return page.totalCount;
    },
    recentOrders: async (parent, { first }) => {
      const size = pageSize(first, 5, 20, 'first');
      return (await parent.recentOrders()).slice(0, size);
    },
    recentRevenue: async (parent) => money((await parent.recentOrders()).reduce((sum, o) => sum + o.totalCents, 0)),
    lowStock: async (parent, { threshold, first }, ctx) => {
      const { loaders } = tenantScope(ctx);
      const size = pageSize(first, 5, 20, 'first');
      const limit = threshold ?? 20;
      const productIds = [...new Set((await parent.recentOrders()).flatMap((o) => o.items.map((i) => i.productId)))];
      const stock = await loaders.stock.loadMany(productIds);
      // A failed inventory call fails the field (null + DOWNSTREAM_*), rather than reporting "no low stock".
      const failure = stock.find((s) => s instanceof Error);
      if (failure) throw failure;
      const low = productIds.filter((_id, i) => {
        const s = stock[i];
        return s && !(s instanceof Error) && s.available < limit;
      });
      const products = await loaders.products.loadMany(low.slice(0, size));
      const productFailure = products.find((p) => p instanceof Error);
      if (productFailure) throw productFailure;
      return products.filter((p): p is ProductRecord => p !== null && !(p instanceof Error));
    },
  },
};
