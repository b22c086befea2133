import type { GraphQLResponse } from '@apollo/server';
import type { FieldCache } from './field-cache.js';

/**
 * Every GraphQL response says `Cache-Control: private, no-store`. Every response is built for one
 * API key: its fields are scoped to the caller's tenant, role or key (PUBLIC fields travel
 * together with them and with the caller's identity), and many hold personal data. `private`
 * keeps shared caches (CDNs, proxies) from storing it; `no-store` keeps browsers and HTTP client
 * caches from writing it to disk or replaying it to the next user of the machine. Reuse happens
 * server-side, in the field cache, under keys the gateway derives from the verified principal.
 */
export const CACHE_CONTROL = 'private, no-store';

/**
 * What the field cache did, on the response about to be sent (after execution): `extensions.cache`
 * with hits, misses and stale serves per response path (no key material), when the request
 * touched a cached field; and the Cache-Control header on every response. Apollo's own
 * cache-control plugin leaves a header it cannot parse alone, so this value stands.
 * `request` is the request's identity in the field cache (its state).
 */
export function reportCache(fieldCache: FieldCache, request: object, response: GraphQLResponse): void {
  response.http.headers.set('cache-control', CACHE_CONTROL);
  if (response.body.kind !== 'single') return;
  const report = fieldCache.report(request);
  if (report) response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cache: report };
}
