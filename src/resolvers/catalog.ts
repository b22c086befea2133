import type { Resolvers } from '../graph/generated/resolvers-types.js';
import type { PageRecord, ProductRecord } from '../downstream/records.js';
import { callOf, tenantScope } from '../graph/context.js';
import { canonicalId, pageSize } from './arguments.js';
import { money } from './money.js';

export const catalogResolvers: Resolvers = {
  Query: {
    product: (_root, { id }, ctx) => tenantScope(ctx).loaders.products.load(canonicalId(id, 'id')),
    products: async (_root, { search, first }, ctx) => {
      const { principal, loaders } = tenantScope(ctx);
      const size = pageSize(first, 20, 100, 'first');
      const query = `first=${size}${search ? `&search=${encodeURIComponent(search)}` : ''}`;
      const since = loaders.clock.now();
      const page = await ctx.downstream.client('catalog').get<PageRecord<ProductRecord>>(`/products?${query}`, callOf(ctx, principal));
      for (const product of page.items) loaders.products.prime(product.id, product, since);
      return page.items;
    },
  },
  Product: {
    price: (p) => money(p.priceCents, p.currency),
    inventory: (p, _args, ctx) => tenantScope(ctx).loaders.stock.load(p.id),
  },
  Stock: {
    inStock: (s) => s.available > 0,
  },
};
