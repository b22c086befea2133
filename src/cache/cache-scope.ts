import { hasTenant, type Principal } from '../auth/principal.js';

/** Who shares a cached entry (`CacheScope` in schema/cache.graphql). */
export const CACHE_SCOPES = ['PUBLIC', 'TENANT', 'ROLE', 'USER'] as const;
export type CacheScope = (typeof CACHE_SCOPES)[number];

/**
 * The namespace segment PUBLIC entries and tags use in place of a tenant id. Tenant ids start with
 * a letter or digit (config/schema.ts), so no tenant can be called this.
 */
export const PUBLIC_NAMESPACE = '_public';

/** The principal part of a cache key: `{tenant}` and the role slot, both from the verified principal. */
export interface KeyScope {
  /** Tenant id, or PUBLIC_NAMESPACE. Also the namespace of the tenant's invalidation tags. */
  namespace: string;
  /** `*` (every role), the role, or `role@clientId` (one key). */
  audience: string;
}

/**
 * The key scope of `scope` for `principal`, or null when the entry cannot be scoped and the field
 * must not be cached: a principal without a tenant (platform admin) has no TENANT, ROLE or USER
 * scope. Only verified principal data goes in: the tenant, role and client id all come from the
 * API key's config entry, never from a header the client sets.
 */
export function keyScope(scope: CacheScope, principal: Principal): KeyScope | null {
  if (scope === 'PUBLIC') return { namespace: PUBLIC_NAMESPACE, audience: '*' };
  if (!hasTenant(principal)) return null;
  switch (scope) {
    case 'TENANT':
      return { namespace: principal.tenantId, audience: '*' };
    case 'ROLE':
      return { namespace: principal.tenantId, audience: principal.role };
    case 'USER':
      // The role stays in the key: a key whose role changes in config gets new entries.
      return { namespace: principal.tenantId, audience: `${principal.role}@${principal.clientId}` };
  }
}

/** "per tenant", "per tenant and role", ... for field descriptions. */
export function describeScope(scope: CacheScope): string {
  switch (scope) {
    case 'PUBLIC':
      return 'shared by all callers';
    case 'TENANT':
      return 'per tenant';
    case 'ROLE':
      return 'per tenant and role';
    case 'USER':
      return 'per API key';
  }
}
