import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { accountsResolvers } from '../resolvers/accounts.js';
import { catalogResolvers } from '../resolvers/catalog.js';
import { dashboardResolvers } from '../resolvers/dashboard.js';
import { moneyResolvers } from '../resolvers/money.js';
import { ordersResolvers } from '../resolvers/orders.js';
import { viewerResolvers } from '../resolvers/viewer.js';
import { authDirectiveTransformer } from './auth-directive.js';
import { loadSchemaSdl } from './load-schema.js';

/**
 * The executable schema: SDL from `schema/`, the resolver maps, then the directive transformers.
 * Each transformer wraps the resolvers the previous one produced, so the LAST one applied runs
 * first at execution time. @auth is applied last: its role check runs before anything else a
 * field does, including a cache read that a later @cached transformer would add (apply that one
 * before @auth).
 */
export async function buildSchema(schemaDir?: string): Promise<GraphQLSchema> {
  const typeDefs = await loadSchemaSdl(schemaDir);
  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: [viewerResolvers, accountsResolvers, catalogResolvers, ordersResolvers, dashboardResolvers, moneyResolvers],
  });
  return authDirectiveTransformer(schema);
}
