import { isPlainObject } from '../jsutils/is-plain-object.js';
import { HttpError, ok, orNotFound } from './http-kit.js';
import { batch, paginate, parseIdList } from './list-params.js';
import { CUSTOMER_TIERS, type Customer, type CustomerTier } from './records.js';
import { pathParam, type Route } from './router.js';

type CustomerPatch = Partial<Pick<Customer, 'name' | 'email' | 'tier'>>;

/** Longest accepted customer name, in characters. */
const MAX_NAME_LENGTH = 200;
// Deliberately loose: one @, no spaces, a dot in the domain. Enough to catch typos in tests.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The accounts service: customers. */
export const ACCOUNTS_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    template: '/customers',
    handle: ({ tenant, query }) => {
      const ids = parseIdList(query, 'ids');
      return ok(ids ? batch(ids, tenant.customer) : paginate(tenant.customers(), query));
    },
  },
  {
    method: 'GET',
    template: '/customers/:id',
    handle: (ctx) => {
      const id = pathParam(ctx, 'id');
      return ok(orNotFound(ctx.tenant.customer(id), 'customer', id));
    },
  },
  {
    method: 'PATCH',
    template: '/customers/:id',
    handle: async (ctx) => {
      const id = pathParam(ctx, 'id');
      orNotFound(ctx.tenant.customer(id), 'customer', id);
      const patch = parseCustomerPatch(await ctx.readJson());
      return ok(ctx.tenant.updateCustomer(id, patch));
    },
  },
];

function parseCustomerPatch(body: unknown): CustomerPatch {
  if (!isPlainObject(body)) throw new HttpError(400, `request body must be a JSON object, got ${JSON.stringify(body)}`);
  const patch: CustomerPatch = {};
  for (const [field, value] of Object.entries(body)) {
    const bad = (expected: string) => new HttpError(400, `${field} must be ${expected}, got ${JSON.stringify(value)}`);
    switch (field) {
      case 'name':
        if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_NAME_LENGTH) {
          throw bad(`a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
        }
        patch.name = value.trim();
        break;
      case 'email':
        if (typeof value !== 'string' || !EMAIL.test(value) || value.length > 254) throw bad('an email address');
        patch.email = value;
        break;
      case 'tier':
        if (!CUSTOMER_TIERS.includes(value as CustomerTier)) throw bad(`one of ${CUSTOMER_TIERS.join(', ')}`);
        patch.tier = value as CustomerTier;
        break;
      default:
        throw new HttpError(400, `unknown field: ${field} (allowed: name, email, tier)`);
    }
  }
  return patch;
}
