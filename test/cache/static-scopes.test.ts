import { isObjectType } from 'graphql';
import { getDirective } from '@graphql-tools/utils';
import { describe, expect, it } from 'vitest';
import type { CacheScope } from '../../src/cache/cache-scope.js';
import { checkStaticScope } from '../../src/cache/static-reads.js';
import { buildSchema, RESOLVER_MAPS } from '../../src/wiring/build-schema.js';

/**
 * The static half of scope safety (issue 9, defect 4), in CI: every @cached field of the real
 * schema has a resolver whose own text reads no more of the caller than the field's scope keys on.
 */
describe('static scope check over the real resolvers', () => {
  it('every @cached resolver reads no more of the caller than its scope keys on', async () => {
    const schema = await buildSchema();
    const checked: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) {
        const cached = getDirective(schema, field, 'cached')?.[0];
        if (!cached || cached.scope === null) continue;
        const resolve = RESOLVER_MAPS.map((map) => (map as Record<string, Record<string, unknown> | undefined>)[type.name]?.[field.name]).find(
          (r) => typeof r === 'function',
        );
        if (typeof resolve !== 'function') continue;
        checkStaticScope(`${type.name}.${field.name}`, (cached.scope ?? 'TENANT') as CacheScope, resolve as () => unknown);
        checked.push(`${type.name}.${field.name}`);
      }
    }
    // The check saw the resolvers it is meant to see.
    expect(checked.sort()).toEqual([
      'Customer.orders',
      'Dashboard.customerCount',
      'Dashboard.lowStock',
      'Dashboard.recentOrders',
      'Dashboard.recentRevenue',
      'Product.inventory',
      'Query.customer',
      'Query.product',
      'Query.products',
    ]);
  });
});
