import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { graphql, type GraphQLSchema } from 'graphql';
import type { Principal } from '../../src/auth/principal.js';
import { createCacheStore, type CacheStore } from '../../src/cache/cache-store.js';
import { cachedDirectiveTransformer } from '../../src/cache/cached-directive.js';
import { createFieldCache, type FieldCache, type RefusalReason } from '../../src/cache/field-cache.js';
import { createGuardedStore } from '../../src/cache/guarded-store.js';
import type { CacheReport } from '../../src/cache/request-cache.js';
import { configSchema, type Config, type Role } from '../../src/config/schema.js';
import { authDirectiveTransformer } from '../../src/graph/auth-directive.js';
import type { GatewayContext } from '../../src/graph/context.js';
import type { RequestState } from '../../src/graph/request-state.js';
import { SCHEMA_DIR } from '../../src/graph/load-schema.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';

/** The real directive SDL: @cached, @invalidates, CacheScope, @auth and Role. */
export async function directiveSdl(): Promise<string> {
  const files = ['cache.graphql', 'directives.graphql'];
  return (await Promise.all(files.map((f) => readFile(join(SCHEMA_DIR, f), 'utf8')))).join('\n');
}

export const cacheConfig = (patch: Partial<Config['cache']> = {}): Config['cache'] => ({
  ...configSchema.parse({ plans: {}, tenants: {} }).cache,
  ...patch,
});

export interface TestCache {
  store: CacheStore;
  fieldCache: FieldCache;
  close(): Promise<void>;
}

/** A field cache over the real store: Redis at `redisUrl`, or the in-process LRU; `onRefused` hears what it would not store. */
export function createTestCache(
  redisUrl?: string,
  patch: Partial<Config['cache']> = {},
  options: { logger?: Logger; onRefused?: (field: string, reason: RefusalReason) => void } = {},
): TestCache {
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const config = cacheConfig(patch);
  const store = createCacheStore({ redisUrl, config, logger });
  const fieldCache = createFieldCache({
    store: createGuardedStore({ store, config, logger }),
    logger,
    ...(options.onRefused ? { onRefused: options.onRefused } : {}),
  });
  return { store, fieldCache, close: () => store.close() };
}

/**
 * An executable schema with the real transformers in the gateway's order (@cached inside @auth),
 * over `typeDefs` (which may use the directives) and `resolvers`.
 */
export async function testSchema(typeDefs: string, resolvers: Record<string, any>, fieldCache: FieldCache, outputConfig: unknown = {}): Promise<GraphQLSchema> {
  let schema = makeExecutableSchema({ typeDefs: [await directiveSdl(), typeDefs], resolvers });
  schema = cachedDirectiveTransformer({ fieldCache, outputConfig, logger: createLogger({ level: 'silent' }) })(schema);
  return authDirectiveTransformer(schema);
}

export function apiKey(tenantId: string, role: Role, clientId = `${tenantId}-${role}`): Principal {
  return { kind: 'apiKey', tenantId, role, clientId, planId: 'pro' };
}

/** Executes `query` as `principal`; returns the result and the request's cache report. */
export async function run(schema: GraphQLSchema, fieldCache: FieldCache, principal: Principal, query: string, variables?: Record<string, unknown>) {
  const state: RequestState = { accepted: { principal, ip: '10.0.0.1', startedAt: Date.now() } };
  const contextValue = { principal, state, requestId: 'test', logger: createLogger({ level: 'silent' }) } as unknown as GatewayContext;
  const result = await graphql({ schema, source: query, contextValue, ...(variables ? { variableValues: variables } : {}) });
  const report: CacheReport | null = fieldCache.report(state);
  return { data: result.data as any, errors: result.errors, report };
}

/** Config patch for a gateway without the field cache: the reference answers come from one. */
export const disableCache = (config: Record<string, any>) => {
  config.cache = { enabled: false };
};

/** The data and errors of a response, as text: what "identical" compares. */
export const dataText = (body: { data?: unknown }) => JSON.stringify(body.data);
export const errorCodes = (body: { errors?: { path?: (string | number)[]; extensions?: Record<string, any> }[] }) =>
  (body.errors ?? []).map((e) => `${(e.path ?? []).join('.')}:${e.extensions?.code}`);
