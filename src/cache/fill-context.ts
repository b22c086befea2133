import type { Config } from '../config/schema.js';
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
 * What reading each context member tells a resolver about its caller, for every member the context
 * has (the type makes a new member choose its level: a header bag added tomorrow does not go
 * unseen). `requestId` and `logger` are for tracing (forwarded as x-request-id, logged);
 * `downstream` and `synthetic` are the same for every caller; `loaders` are bound to the tenant;
 * `principal` and `config` are proxies of their own (PRINCIPAL_LEVEL, CONFIG_LEVEL).
 * REQUEST for what depends on this request or on the moment: the request state (the plan the limit
 * decision charged, the cost budget), the address, and the services whose answer about a caller
 * changes at run time with nothing to invalidate a cached value: the limits in force and runtime
 * overrides (a tenant moved to another plan), usage so far, the audit log, registered documents,
 * health. A value read from them is served to its caller, never stored.
 */
const CONTEXT_LEVEL = {
  requestId: NONE,
  logger: NONE,
  config: NONE,
  downstream: NONE,
  // The request's share of downstream slots (weight, class): when its calls run, not what they return.
  downstreamShare: NONE,
  // The trace the request's calls continue: ids sent along, not what the services answer.
  downstreamTrace: NONE,
  synthetic: NONE,
  loaders: TENANT,
  principal: NONE,
  ip: REQUEST,
  state: REQUEST,
  overrides: REQUEST,
  shadows: REQUEST,
  limitsView: REQUEST,
  usage: REQUEST,
  audit: REQUEST,
  trustedDocuments: REQUEST,
  checkout: REQUEST,
  meteredBilling: REQUEST,
  health: REQUEST,
  calibration: REQUEST,
  replay: REQUEST,
} as const satisfies Readonly<Record<keyof GatewayContext, Level>>;

/**
 * Principal members: the tenant, the role, the key (id and kind); anything else: REQUEST. The plan
 * too: it is the tenant's, but a reload or a runtime override moves the tenant to another plan,
 * and a TENANT entry would go on answering for the old one.
 */
const PRINCIPAL_LEVEL: Readonly<Record<string, Level>> = { tenantId: TENANT, role: ROLE, clientId: USER, kind: USER };

/**
 * Config sections: what the config says of callers (which plan a tenant is on, a key's role and
 * bindings) is per request for the same reason as the principal's plan; the rest (plans as
 * defined, limits settings, services) is the same for every caller. Typed like CONTEXT_LEVEL, so
 * a new section chooses its level.
 */
const CONFIG_LEVEL = {
  server: NONE,
  redis: NONE,
  reload: NONE,
  plans: NONE,
  cors: NONE,
  usage: NONE,
  calibration: NONE,
  record: NONE,
  demo: NONE,
  metrics: NONE,
  alerts: NONE,
  limits: NONE,
  trustedDocuments: NONE,
  admission: NONE,
  cache: NONE,
  downstream: NONE,
  audit: NONE,
  // Which plan a tenant without one is on, and what a subscription grants: per caller.
  defaultPlan: REQUEST,
  billing: REQUEST,
  tenants: REQUEST,
  apiKeys: REQUEST,
  serviceTokens: REQUEST,
  platformAdminKeys: REQUEST,
  publishableKeys: REQUEST,
} as const satisfies Readonly<Record<keyof Config, Level>>;

const levelOf = (table: Readonly<Record<string, Level>>, property: PropertyKey): Level =>
  typeof property === 'string' && Object.hasOwn(table, property) ? (table[property] ?? REQUEST) : REQUEST;

/**
 * The context a cached field's resolver runs with on a miss, and what it read through it:
 * - every read of the caller (CONTEXT_LEVEL, PRINCIPAL_LEVEL, CONFIG_LEVEL) raises `level()`, for every scope;
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
  /** `object` seen through a proxy that raises the level of each member read (`table`). */
  const watched = <T extends object>(object: T, table: Readonly<Record<string, Level>>): T =>
    new Proxy(object, {
      get(target, key, receiver) {
        raise(levelOf(table, key));
        return Reflect.get(target, key, receiver);
      },
    });
  let principal: unknown;
  let config: unknown;
  let loaders: unknown;
  const tracked = new Proxy(ctx, {
    get(target, property, receiver) {
      raise(levelOf(CONTEXT_LEVEL, property));
      if (property === 'principal') {
        principal ??= watched(target.principal, PRINCIPAL_LEVEL);
        return principal;
      }
      if (property === 'config') {
        config ??= watched(target.config, CONFIG_LEVEL);
        return config;
      }
      if (property === 'loaders') {
        loaders ??= target.loaders?.since(mark) ?? null;
        return loaders;
      }
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
