import type { GatewayContext } from '../graph/context.js';
import type { CacheScope } from './cache-scope.js';

/**
 * How much of the caller a value may depend on, from nothing to the one request. A scope keys on
 * a level (PUBLIC nothing, TENANT the tenant, ROLE tenant and role, USER tenant, role and key); a
 * value that depends on more than its scope keys on must not be stored in that scope.
 */
export const LEVELS = ['NONE', 'TENANT', 'ROLE', 'USER', 'REQUEST'] as const;
export type Level = 0 | 1 | 2 | 3 | 4;
export const NONE: Level = 0;
export const TENANT: Level = 1;
export const ROLE: Level = 2;
export const USER: Level = 3;
/** Per request (state, address, headers): no scope keys on it, so such a value is never stored. */
export const REQUEST: Level = 4;

export const SCOPE_LEVEL: Record<CacheScope, Level> = { PUBLIC: NONE, TENANT, ROLE, USER };
export const LEVEL_SCOPE: Record<Level, CacheScope | null> = { 0: 'PUBLIC', 1: 'TENANT', 2: 'ROLE', 3: 'USER', 4: null };

/**
 * What reading each context member tells a resolver about its caller. An allow-list: a member not
 * named here (a header bag added tomorrow, say) counts as REQUEST, so a new caller-bound member is
 * tracked from the start. `requestId` and `logger` are for tracing (forwarded as x-request-id,
 * logged), `config` and the services are the same for every caller: reading them reveals nothing
 * of the caller, and what a resolver asks them about a caller it must first read elsewhere.
 * `principal` is a proxy of its own (PRINCIPAL_LEVEL); `loaders` are bound to the tenant.
 */
const CONTEXT_LEVEL: Readonly<Record<string, Level>> = {
  requestId: NONE,
  logger: NONE,
  config: NONE,
  downstream: NONE,
  overrides: NONE,
  limitsView: NONE,
  usage: NONE,
  loaders: TENANT,
  principal: NONE,
  ip: REQUEST,
  state: REQUEST,
};

/** Principal members: the tenant and its plan, the role, the key (id and kind); anything else: REQUEST. */
const PRINCIPAL_LEVEL: Readonly<Record<string, Level>> = { tenantId: TENANT, planId: TENANT, role: ROLE, clientId: USER, kind: USER };

const levelOf = (table: Readonly<Record<string, Level>>, property: PropertyKey): Level =>
  typeof property === 'string' && Object.hasOwn(table, property) ? table[property]! : REQUEST;

/**
 * The context a cached field's resolver runs with on a miss, and what it read through it:
 * - every read of the caller (CONTEXT_LEVEL, PRINCIPAL_LEVEL) raises `level()`, for every scope;
 * - `loaders` are the request's loaders seen from clock reading `mark` (taken once the entry's
 *   invalidation token is known): a value memoised before the token was read is fetched again
 *   rather than served, so what the resolver returns was loaded after its token was read.
 * `in` checks are not reads (`'tenantId' in principal` says only that a tenant exists, which every
 * keyed scope has). Only the resolver of the cached field gets this context; its children resolve
 * with the request's own.
 */
export function fillContext(ctx: GatewayContext, mark: number): { ctx: GatewayContext; level(): Level } {
  let level: Level = NONE;
  const raise = (to: Level) => {
    if (to > level) level = to;
  };
  let principal: unknown;
  let loaders: unknown;
  const tracked = new Proxy(ctx, {
    get(target, property, receiver) {
      raise(levelOf(CONTEXT_LEVEL, property));
      if (property === 'principal') {
        principal ??= new Proxy(target.principal, {
          get(p, key, r) {
            raise(levelOf(PRINCIPAL_LEVEL, key));
            return Reflect.get(p, key, r);
          },
        });
        return principal;
      }
      if (property === 'loaders') return (loaders ??= target.loaders?.since(mark) ?? null);
      return Reflect.get(target, property, receiver);
    },
  });
  return { ctx: tracked, level: () => level };
}

/**
 * The parent object as a field's resolver sees it on a miss, noting any read beyond the parent's
 * `id`. The parent was loaded before the child's token was read, so a value computed from its
 * other fields could predate an invalidation: the field cache does not store it (ids never change).
 */
export function trackParent(source: unknown): { source: unknown; readBeyondId(): boolean } {
  if (typeof source !== 'object' || source === null) return { source, readBeyondId: () => false };
  let read = false;
  const proxy = new Proxy(source, {
    get(target, property, receiver) {
      if (property !== 'id') read = true;
      return Reflect.get(target, property, receiver);
    },
  });
  return { source: proxy, readBeyondId: () => read };
}
