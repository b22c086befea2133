import type { ApolloServerOptions, GraphQLRequest } from '@apollo/server';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../auth/principal.js';
import { sha256Hex } from '../config/hash.js';
import type { GatewayContext } from './context.js';

/** The store type Apollo's `persistedQueries.cache` takes. */
type ApqStore = NonNullable<Exclude<ApolloServerOptions<GatewayContext>['persistedQueries'], false | undefined>['cache']>;

/** Query text kept for automatic persisted queries, in characters of text and keys, default 32 Mi (~32 MiB). */
const MAX_STORED_CHARS = 32 * 1024 * 1024;

/**
 * Apollo's own APQ store, made unable to hold anything: its keys are the query hash alone, shared
 * by every caller, so a hash-only request would tell any key whether someone else (another tenant)
 * has sent that exact query text. Registrations go to `persistedQueriesPlugin`'s store instead.
 */
export const NO_SHARED_APQ: ApqStore = {
  get: async () => undefined,
  set: async () => {},
  delete: async () => true,
};

/**
 * Automatic persisted queries per API key: a hash registered by one key (tenant and client id) is
 * unknown to every other, of its tenant or another. `resolve` runs in `requestDidStart`, which
 * Apollo calls before it reads the request's query (http/pipeline.ts): a registration (query with
 * a matching sha256Hash) is stored under the caller's key; a hash-only request gets its query text
 * from the caller's own registrations, and otherwise goes on to Apollo, whose store (NO_SHARED_APQ)
 * answers PERSISTED_QUERY_NOT_FOUND, so clients register as usual. In process, like Apollo's default.
 */
export function createPersistedQueries(): { resolve(request: GraphQLRequest, principal: Principal): void } {
  const stored = new LRUCache<string, string>({ maxSize: MAX_STORED_CHARS, sizeCalculation: (query, key) => query.length + key.length });
  return {
    resolve(request, principal) {
      const persisted = request.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
      if (persisted?.version !== 1 || typeof persisted.sha256Hash !== 'string') return;
      const key = `${'tenantId' in principal ? principal.tenantId : '-'}/${principal.clientId}/${persisted.sha256Hash}`;
      if (typeof request.query === 'string') {
        // Apollo refuses a mismatching hash itself; only a true registration is kept.
        if (sha256Hex(request.query) === persisted.sha256Hash) stored.set(key, request.query);
        return;
      }
      const query = stored.get(key);
      if (query !== undefined) request.query = query;
    },
  };
}
