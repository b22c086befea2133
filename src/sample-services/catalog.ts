import { ok, orNotFound } from './http-kit.js';
import { batch, paginate, parseIdList } from './list-params.js';
import type { Product } from './records.js';
import { pathParam, type Route } from './router.js';

/** The catalog service: products, with a case-insensitive substring search. */
export const CATALOG_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    template: '/products',
    handle: ({ tenant, query }) => {
      const ids = parseIdList(query, 'ids');
      if (ids) return ok(batch(ids, tenant.product));
      const search = query.get('search')?.trim().toLowerCase() ?? '';
      const products = search ? tenant.products().filter((p) => matches(p, search)) : tenant.products();
      return ok(paginate(products, query));
    },
  },
  {
    method: 'GET',
    template: '/products/:id',
    handle: (ctx) => {
      const id = pathParam(ctx, 'id');
      return ok(orNotFound(ctx.tenant.product(id), 'product', id));
    },
  },
];

/** `needle` is already lower case. */
function matches(product: Product, needle: string): boolean {
  return product.name.toLowerCase().includes(needle) || product.description.toLowerCase().includes(needle) || product.category.toLowerCase().includes(needle);
}
