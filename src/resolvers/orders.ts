import type { Resolvers } from '../graph/generated/resolvers-types.js';
import type { OrderRecord, PageRecord } from '../downstream/records.js';
import { callOf, tenantScope } from '../graph/context.js';
import { GatewayError } from '../errors/gateway-error.js';
import { canonicalId, pageQuery, pageSize } from './arguments.js';
import { connectionResolvers } from './connection.js';
import { money } from './money.js';

/** Most lines one order may have; the schema documents it on PlaceOrderInput.items. */
const MAX_ORDER_LINES = 20;

export const ordersResolvers: Resolvers = {
  Query: {
    order: (_root, { id }, ctx) => tenantScope(ctx).loaders.orders.load(canonicalId(id, 'id')),
    orders: async (_root, { first, after }, ctx) => {
      const { principal, loaders } = tenantScope(ctx);
      const size = pageSize(first, 20, 100, 'first');
      const since = loaders.clock.now();
      const page = await ctx.downstream.client('orders').get<PageRecord<OrderRecord>>(`/orders?${pageQuery(size, after)}`, callOf(ctx, principal));
      for (const order of page.items) loaders.orders.prime(order.id, order, since);
      return page;
    },
  },
  Mutation: {
    placeOrder: async (_root, { input }, ctx) => {
      const { principal, loaders } = tenantScope(ctx);
      if (input.items.length < 1 || input.items.length > MAX_ORDER_LINES) {
        throw new GatewayError('BAD_USER_INPUT', `items must hold 1 to ${MAX_ORDER_LINES} lines: ${input.items.length}`);
      }
      canonicalId(input.customerId, 'input.customerId');
      for (const [i, item] of input.items.entries()) canonicalId(item.productId, `input.items[${i}].productId`);
      const since = loaders.clock.now();
      const order = await ctx.downstream
        .client('orders')
        .send<OrderRecord>('POST', '/orders', { customerId: input.customerId, items: input.items }, callOf(ctx, principal));
      loaders.orders.prime(order.id, order, since);
      return order;
    },
  },
  Order: {
    customer: (o, _args, ctx) => tenantScope(ctx).loaders.customers.load(o.customerId),
    total: (o) => money(o.totalCents),
  },
  LineItem: {
    product: (li, _args, ctx) => tenantScope(ctx).loaders.products.load(li.productId),
    unitPrice: (li) => money(li.unitPriceCents),
    subtotal: (li) => money(li.unitPriceCents * li.quantity),
  },
  OrderConnection: connectionResolvers,
};
