import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config/schema.js';
import { accountsResolvers } from '../resolvers/accounts.js';
import { adminResolvers } from '../resolvers/admin.js';
import { calibrationResolvers } from '../resolvers/calibration.js';
import { replayResolvers } from '../resolvers/replay.js';
import { billingResolvers } from '../resolvers/billing.js';
import { usageResolvers } from '../resolvers/usage.js';
import { dashboardUsageResolvers } from '../resolvers/dashboard-usage.js';
import { fleetConsoleResolvers } from '../resolvers/fleet-console.js';
import { fleetTenantResolvers } from '../resolvers/fleet-tenant.js';
import { catalogResolvers } from '../resolvers/catalog.js';
import { dashboardResolvers } from '../resolvers/dashboard.js';
import { moneyResolvers } from '../resolvers/money.js';
import { shadowResolvers } from '../resolvers/shadow.js';
import { ordersResolvers } from '../resolvers/orders.js';
import { trustedDocumentResolvers } from '../resolvers/trusted-documents.js';
import { viewerResolvers } from '../resolvers/viewer.js';
import { authDirectiveTransformer } from '../graph/auth-directive.js';
import { describeLimits } from '../graph/describe-limits.js';
import { loadSchemaSdl } from '../graph/load-schema.js';

export interface BuildSchemaOptions {
  schemaDir?: string;
  /** The @rateLimit implementation (field-rate-limit.ts); absent: @rateLimit is not enforced. */
  rateLimit?: (schema: GraphQLSchema) => GraphQLSchema;
  /** The @cached/@invalidates implementation (cache/cached-directive.ts); absent: nothing is cached. */
  cache?: (schema: GraphQLSchema) => GraphQLSchema;
  /** Config whose per-plan field limits are written into field descriptions. */
  config?: Config;
}

/**
 * The executable schema: SDL from `schema/`, the resolver maps, then the directive transformers.
 * Each transformer wraps the resolvers the previous one produced, so the LAST one applied runs
 * first at execution time:
 *   1. @cached/@invalidates (field cache): innermost, so the role check and the field rate limit
 *      run before any cache read, and a cache hit still counts against @rateLimit (a client's
 *      limits do not depend on what happens to be cached)
 *   2. @rateLimit (per tenant and field)
 *   3. @auth (role check): applied last so it runs first; a forbidden call consumes no rate
 *      limit and reads no cache.
 * Then the field descriptions get their cost and limits appended (text only).
 */
/** Every resolver map, in the order they are merged (also read by the static scope check in CI). */
export const RESOLVER_MAPS = [
  viewerResolvers,
  accountsResolvers,
  catalogResolvers,
  ordersResolvers,
  dashboardResolvers,
  moneyResolvers,
  adminResolvers,
  billingResolvers,
  usageResolvers,
  dashboardUsageResolvers,
  fleetConsoleResolvers,
  fleetTenantResolvers,
  trustedDocumentResolvers,
  calibrationResolvers,
  shadowResolvers,
  replayResolvers,
];

export async function buildSchema(options: BuildSchemaOptions = {}): Promise<GraphQLSchema> {
  const typeDefs = await loadSchemaSdl(options.schemaDir);
  let schema = makeExecutableSchema({
    typeDefs,
    resolvers: RESOLVER_MAPS,
  });
  if (options.cache) schema = options.cache(schema);
  if (options.rateLimit) schema = options.rateLimit(schema);
  schema = authDirectiveTransformer(schema);
  return options.config ? describeLimits(schema, options.config) : schema;
}
