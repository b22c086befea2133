import { defaultFieldResolver, isObjectType, type GraphQLFieldConfig, type GraphQLSchema } from 'graphql';
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import type { GatewayContext } from '../graph/context.js';
import type { Logger } from '../observability/logger.js';
import { schemaVersion } from './cache-keys.js';
import { CACHE_SCOPES, describeScope, type CacheScope } from './cache-scope.js';
import { compileInvalidation, identityRule } from './entry-tags.js';
import { MAX_ENTRY_SECONDS, type CachedFieldSpec, type FieldCache } from './field-cache.js';

/**
 * `@cached(ttl, scope, staleWhileRevalidate)` and `@invalidates(tags)` (schema/cache.graphql):
 * wraps each marked field's resolver with the field cache, checks every use at start (a bad TTL,
 * PUBLIC below the root, a parent without identity, a tag that names nothing stop the gateway
 * here), and appends the caching to the field's description, so introspection shows it.
 *
 * wiring/build-schema.ts applies it before @rateLimit and @auth, so at execution the role check and the
 * field rate limit run first, and no cache read happens for a caller the field refuses.
 * `outputConfig` is the config that changes what fields resolve to; it goes into the schema version.
 */
export function cachedDirectiveTransformer(options: {
  fieldCache: FieldCache;
  outputConfig: unknown;
  logger: Logger;
}): (schema: GraphQLSchema) => GraphQLSchema {
  const { fieldCache, logger } = options;
  return (schema) => {
    const version = schemaVersion(schema, options.outputConfig);
    return mapSchema(schema, {
      [MapperKind.OBJECT_FIELD]: (config, fieldName, typeName) => {
        const coordinate = `${typeName}.${fieldName}`;
        const parentType = schema.getType(typeName);
        const field = isObjectType(parentType) ? parentType.getFields()[fieldName] : undefined;
        if (!isObjectType(parentType) || !field) return config;
        const cached = getDirective(schema, field, 'cached')?.[0];
        const invalidates = getDirective(schema, field, 'invalidates')?.[0];
        let next: GraphQLFieldConfig<unknown, GatewayContext> = config;

        if (cached) {
          const isMutationOrSubscription = parentType === schema.getMutationType() || parentType === schema.getSubscriptionType();
          if (isMutationOrSubscription) throw new Error(`@cached on ${coordinate}: only query data can be cached, not a ${parentType.name} field`);
          const ttlSeconds = wholeSeconds(cached.ttl, coordinate, 'ttl');
          const staleSeconds = wholeSeconds(cached.staleWhileRevalidate ?? 0, coordinate, 'staleWhileRevalidate');
          if (ttlSeconds + staleSeconds > MAX_ENTRY_SECONDS) {
            throw new Error(
              `@cached on ${coordinate}: ttl + staleWhileRevalidate must be at most ${MAX_ENTRY_SECONDS} s (one day): ${ttlSeconds + staleSeconds}`,
            );
          }
          const scope = cached.scope as CacheScope | null;
          if (scope !== null && !CACHE_SCOPES.includes(scope)) throw new Error(`@cached on ${coordinate}: unknown scope ${String(scope)}`);
          if (scope === 'PUBLIC' && parentType !== schema.getQueryType()) {
            throw new Error(
              `@cached(scope: PUBLIC) on ${coordinate}: PUBLIC is for Query fields only; below the root an object's id is only unique inside a tenant`,
            );
          }
          if (scope === null) {
            logger.warn({ field: coordinate }, '@cached with scope: null: the field is not cached');
            next = { ...next, description: appendLine(next.description, 'Not cached (no scope).') };
          } else if (ttlSeconds === 0) {
            next = { ...next, description: appendLine(next.description, 'Not cached (ttl 0).') };
          } else {
            const resolve = config.resolve ?? defaultFieldResolver;
            const belowRoot = parentType !== schema.getQueryType();
            const spec: CachedFieldSpec = {
              coordinate,
              version,
              ttlSeconds,
              staleSeconds,
              scope,
              identify: identityRule(schema, parentType, field),
              belowRoot,
            };
            const stale = staleSeconds > 0 ? `, then served stale for up to ${staleSeconds} s more while one request refreshes it` : '';
            next = {
              ...next,
              description: appendLine(next.description, `Cached for ${ttlSeconds} s ${describeScope(scope)}${stale}.`),
              resolve: (source, args, ctx: GatewayContext, info) => fieldCache.resolve(spec, resolve, source, args, ctx, info),
            };
          }
        }

        if (invalidates) {
          if (parentType !== schema.getMutationType()) throw new Error(`@invalidates on ${coordinate}: only Mutation fields change data`);
          const templates = invalidates.tags as string[];
          const tagsOf = compileInvalidation(schema, coordinate, field, templates);
          const resolve = next.resolve ?? defaultFieldResolver;
          next = {
            ...next,
            description: appendLine(next.description, `Drops the caller's tenant's cached entries tagged ${templates.join(', ')}.`),
            async resolve(source, args, ctx: GatewayContext, info) {
              let result: unknown;
              try {
                result = await resolve(source, args, ctx, info);
                return result;
              } finally {
                // Also after a failure: the downstream write may have happened before it failed.
                await fieldCache.invalidate(ctx, tagsOf(args, result));
              }
            },
          };
        }
        return next;
      },
    });
  };
}

function wholeSeconds(value: unknown, coordinate: string, argument: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new Error(`@cached on ${coordinate}: ${argument} must be a whole number of seconds >= 0: ${String(value)}`);
  }
  return value;
}

function appendLine(description: string | null | undefined, line: string): string {
  return description ? `${description}\n\n${line}` : line;
}
