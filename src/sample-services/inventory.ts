import { HttpError, ok, orNotFound } from './http-kit.js';
import { batch, parseIdList } from './list-params.js';
import { pathParam, type Route } from './router.js';

/** The inventory service: volatile stock levels per product (see `stock-level.ts`). */
export const INVENTORY_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    template: '/stock',
    handle: ({ tenant, query }) => {
      const productIds = parseIdList(query, 'productIds');
      // Stock is only ever read for known products; there is no list of it to page through.
      if (!productIds) throw new HttpError(400, 'productIds is required, e.g. /stock?productIds=prd_1,prd_2');
      return ok(batch(productIds, tenant.stock));
    },
  },
  {
    method: 'GET',
    template: '/stock/:productId',
    handle: (ctx) => {
      const productId = pathParam(ctx, 'productId');
      return ok(orNotFound(ctx.tenant.stock(productId), 'stock for product', productId));
    },
  },
];
