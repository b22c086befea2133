import type { Resolvers } from '../graph/generated/resolvers-types.js';
import type { CustomerRecord, PageRecord } from '../downstream/records.js';
import { callOf, tenantScope } from '../graph/context.js';
import { GatewayError } from '../errors/gateway-error.js';
import { canonicalId, pageQuery, pageSize } from './arguments.js';
import { connectionResolvers } from './connection.js';
import { money } from './money.js';

export const accountsResolvers: Resolvers = {
  Query: {
    customer: (_root, { id }, ctx) => tenantScope(ctx).loaders.customers.load(canonicalId(id, 'id')),
    customers: async (_root, { first, after }, ctx) => {
      const { principal, loaders } = tenantScope(ctx);
      const size = pageSize(first, 20, 100, 'first');
      const since = loaders.clock.now();
      const page = await ctx.downstream.client('accounts').get<PageRecord<CustomerRecord>>(`/customers?${pageQuery(size, after)}`, callOf(ctx, principal));
      // Later `customer(id)` lookups in this request reuse what the page already returned.
      for (const customer of page.items) loaders.customers.prime(customer.id, customer, since);
      return page;
    },
  },
  Mutation: {
    updateCustomer: async (_root, { id, input }, ctx) => {
      const { principal, loaders } = tenantScope(ctx);
      canonicalId(id, 'id');
      const patch = {
        ...(input.name != null ? { name: input.name } : {}),
        ...(input.email != null ? { email: input.email } : {}),
        ...(input.tier != null ? { tier: input.tier.toLowerCase() } : {}),
      };
      if (Object.keys(patch).length === 0) {
        throw new GatewayError('BAD_USER_INPUT', 'updateCustomer needs at least one of name, email, tier');
      }
      const since = loaders.clock.now();
      const updated = await ctx.downstream
        .client('accounts')
        .send<CustomerRecord>('PATCH', `/customers/${encodeURIComponent(id)}`, patch, callOf(ctx, principal));
      loaders.customers.clear(id).prime(id, updated, since);
      return updated;
    },
  },
  Customer: {
    tier: (c) => c.tier.toUpperCase() as 'BRONZE' | 'SILVER' | 'GOLD',
    lifetimeValue: (c) => money(c.lifetimeValueCents),
    orders: (c, { first }, ctx) =>
      tenantScope(ctx)
        .loaders.ordersOfCustomer(pageSize(first, 10, 50, 'first'))
        .load(c.id),
  },
  CustomerConnection: connectionResolvers,
};
