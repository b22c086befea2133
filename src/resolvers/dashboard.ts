import type { Resolvers } from '../graph/generated/resolvers-types.js';
import { RECENT_WINDOW } from '../downstream/loaders.js';
import type { CustomerRecord, OrderRecord, PageRecord, ProductRecord } from '../downstream/records.js';
import { callOf, tenantScope, type GatewayContext } from '../graph/context.js';
import { pageSize } from './arguments.js';
import { money } from './money.js';

/** The newest orders the dashboard computes over. */
const recentOrders = (ctx: GatewayContext): Promise<OrderRecord[]> => tenantScope(ctx).loaders.recentOrders.load(String(RECENT_WINDOW));

export const dashboardResolvers: Resolvers = {
  Query: {
    dashboard: () => ({}),
  },
  Dashboard: {
    customerCount: async (_parent, _args, ctx) => {
      const { principal } = tenantScope(ctx);
      const page = await ctx.downstream.client('accounts').get<PageRecord<CustomerRecord>>('/customers?first=1', callOf(ctx, principal));
      return page.totalCount;
    },
    recentOrders: async (_parent, { first }, ctx) => {
      const size = pageSize(first, 5, 20, 'first');
      return (await recentOrders(ctx)).slice(0, size);
    },
    recentRevenue: async (_parent, _args, ctx) => money((await recentOrders(ctx)).reduce((sum, o) => sum + o.totalCents, 0)),
    lowStock: async (_parent, { threshold, first }, ctx) => {
      const { loaders } = tenantScope(ctx);
      const size = pageSize(first, 5, 20, 'first');
      const limit = threshold ?? 20;
      const productIds = [...new Set((await recentOrders(ctx)).flatMap((o) => o.items.map((i) => i.productId)))];
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
