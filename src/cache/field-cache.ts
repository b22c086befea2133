import { randomBytes } from 'node:crypto';
import { responsePathAsArray, type GraphQLFieldResolver, type GraphQLResolveInfo } from 'graphql';
import { hasTenant } from '../auth/principal.js';
import type { GatewayContext, RequestState } from '../graph/context.js';
import type { Logger } from '../observability/logger.js';
import { entryKey, tagKey } from './cache-keys.js';
import { keyScope, PUBLIC_NAMESPACE, type CacheScope, type KeyScope } from './cache-scope.js';
import { isPlainJson } from './canonical.js';
import { createCoalescer } from './coalescer.js';
import type { Identify } from './entry-tags.js';
import type { GuardedStore } from './guarded-store.js';
import { trackCallerReads } from './public-scope.js';
import { createRequestCache, type CacheReport, type RequestCache } from './request-cache.js';

/** Longest a value may be kept, fresh plus stale, in seconds: one day (checked at start). */
export const MAX_ENTRY_SECONDS = 86_400;
/** Tag tokens live longer than any entry: a tag that expires or is evicted only turns entries into misses. */
const TAG_TTL_MS = 2 * MAX_ENTRY_SECONDS * 1000;

/** One @cached field, as the directive transformer compiled it at start. */
export interface CachedFieldSpec {
  /** `Type.field`. */
  coordinate: string;
  /** The schema version in the field's keys (cache-keys.ts). */
  version: string;
  /** Seconds a value is fresh; 0 means not cached. */
  ttlSeconds: number;
  /** Seconds an expired value may still be served while one call refreshes it. */
  staleSeconds: number;
  scope: CacheScope;
  identify: Identify;
}

type Resolver = GraphQLFieldResolver<unknown, GatewayContext>;

/** What is stored under an entry key (keyv adds its own `expires`). */
interface Envelope {
  /** The resolver's value. */
  v: unknown;
  /** The entry's tag token when the value was read from downstream: valid while the tag still holds it. */
  t: string;
  /** Fresh until (epoch ms); after it, stale-while-revalidate or a miss. */
  f: number;
}

/** The settled result of one downstream resolution, shared by the callers it was coalesced for. */
type Outcome = { ok: true; value: unknown; callerBound: boolean } | { ok: false; error: unknown; callerBound: boolean };

/**
 * The engine of @cached and @invalidates. Per field call: the key from the verified principal
 * (scope), the field, the arguments and the parent; one read of the entry and its tag token,
 * batched with the request's other cached fields; a fresh entry whose token still matches its tag
 * is a hit, a stale one within its grace is served while one call refreshes it, anything else
 * resolves downstream (coalesced with identical misses in flight in this instance) and stores the
 * value when it is plain JSON and no error.
 *
 * Invalidation replaces a tag's token: entries carrying the old token stop matching at once, on
 * every instance, without finding or deleting them (no KEYS or SCAN). The token is read in the
 * same MGET as the entry, so invalidation costs no extra round trip and has no staleness window
 * beyond the race every cache has (a read that started before the mutation finished).
 *
 * `store` null (cache disabled) makes every call resolve downstream: the no-op implementation.
 */
export function createFieldCache(deps: {
  store: GuardedStore | null;
  logger: Logger;
  /** Called for every cached field resolved (metrics); `field` is `Type.field`. Default: nothing. */
  onResult?: (field: string, result: 'hit' | 'miss' | 'stale') => void;
}) {
  const { store, logger } = deps;
  const onResult = deps.onResult ?? (() => {});
  const flights = createCoalescer<Outcome>();
  /** Tokens being written for tags that had none, so that concurrent misses label with the same one. */
  const pendingTags = new Map<string, { token: string; written: Promise<boolean> }>();
  const requests = new WeakMap<RequestState, RequestCache>();
  /** PUBLIC fields whose resolver was seen reading the caller: cached per tenant from then on. */
  const callerBoundPublic = new Set<string>();

  function requestCache(state: RequestState, guarded: GuardedStore): RequestCache {
    let cache = requests.get(state);
    if (!cache) {
      cache = createRequestCache(guarded);
      requests.set(state, cache);
    }
    return cache;
  }

  async function write(guarded: GuardedStore, cache: RequestCache, key: string, value: unknown, ttlMs: number): Promise<boolean> {
    try {
      await guarded.setMany([{ key, value, ttlMs }]);
      cache.remember(key, value);
      return true;
    } catch {
      cache.markDegraded();
      return false;
    }
  }

  /**
   * A token for a tag nobody has set yet (or that expired or was evicted), chosen at once and
   * written before the downstream read: a mutation landing during the read replaces it, and the
   * entry then comes out stale, never a value labelled as fresh. Shared by the misses that find
   * the tag absent meanwhile (a request's four dashboard fields use one).
   */
  function ensureTag(guarded: GuardedStore, cache: RequestCache, tag: string): { token: string; written: Promise<boolean> } {
    let pending = pendingTags.get(tag);
    if (!pending) {
      const token = newToken();
      const written = write(guarded, cache, tag, token, TAG_TTL_MS);
      pending = { token, written };
      pendingTags.set(tag, pending);
      const done = () => pendingTags.delete(tag);
      written.then(done, done);
    }
    return pending;
  }

  async function resolveCached(spec: CachedFieldSpec, next: Resolver, source: unknown, args: Record<string, unknown>, ctx: GatewayContext, info: GraphQLResolveInfo): Promise<unknown> {
    if (!store || spec.ttlSeconds === 0) return next(source, args, ctx, info);
    const scope: CacheScope = spec.scope === 'PUBLIC' && callerBoundPublic.has(spec.coordinate) ? 'TENANT' : spec.scope;
    const key = keysFor(spec, scope, source, args, ctx);
    if (!key) return next(source, args, ctx, info);

    const cache = requestCache(ctx.state, store);
    const path = responsePathAsArray(info.path).join('.');
    const [stored, token] = await cache.read([key.entry, key.tag]);
    const entry = asEnvelope(stored);
    if (entry && typeof token === 'string' && entry.t === token) {
      const now = Date.now();
      if (now < entry.f) {
        cache.record(path, 'HIT');
        onResult(spec.coordinate, 'hit');
        return entry.v;
      }
      if (now < entry.f + spec.staleSeconds * 1000) {
        cache.record(path, 'STALE');
        onResult(spec.coordinate, 'stale');
        // One refresh per entry in this instance, off the response path (nobody waits for it).
        if (!flights.find(key.entry, (label) => label === token)) {
          fill(spec, key, token, next, source, args, ctx, info, cache).catch((err: unknown) =>
            logger.error({ err, field: spec.coordinate, requestId: ctx.requestId }, 'cache refresh failed'),
          );
        }
        return entry.v;
      }
    }
    cache.record(path, 'MISS');
    onResult(spec.coordinate, 'miss');
    const read = typeof token === 'string' ? token : undefined;
    // A miss that read no token is no fresher than any flight; one that did joins only its own token's.
    const joining = flights.find(key.entry, (label) => read === undefined || label === read);
    const settled = await (joining ?? fill(spec, key, read, next, source, args, ctx, info, cache));
    const joined = joining !== undefined;
    // A coalesced PUBLIC call whose leader read its own tenant: that value is not ours.
    if (joined && settled.callerBound) return next(source, args, ctx, info);
    if (!settled.ok) throw settled.error;
    return settled.value;
  }

  function keysFor(spec: CachedFieldSpec, scope: CacheScope, source: unknown, args: Record<string, unknown>, ctx: GatewayContext) {
    const keyed: KeyScope | null = keyScope(scope, ctx.principal);
    const identity = keyed ? spec.identify(source, args) : undefined;
    if (!keyed || !identity) return null;
    try {
      return { scope: keyed, entry: entryKey(spec.version, keyed, spec.coordinate, args, identity.parent), tag: tagKey(keyed.namespace, identity.tag) };
    } catch (err) {
      // An argument JSON cannot encode: serve uncached rather than key it ambiguously.
      logger.debug({ err: (err as Error).message, field: spec.coordinate }, 'cache key not computable; field served uncached');
      return null;
    }
  }

  /**
   * Resolves downstream as the flight for this entry and token, and stores the value when it may
   * be stored: no error, plain JSON, the caller not read by a PUBLIC resolver, a token in place.
   */
  function fill(
    spec: CachedFieldSpec,
    key: { scope: KeyScope; entry: string; tag: string },
    token: string | undefined,
    next: Resolver,
    source: unknown,
    args: Record<string, unknown>,
    ctx: GatewayContext,
    info: GraphQLResolveInfo,
    cache: RequestCache,
  ): Promise<Outcome> {
    const guarded = store!;
    const tag = token === undefined ? ensureTag(guarded, cache, key.tag) : null;
    const label = token ?? tag!.token;
    return flights.start(key.entry, label, async (): Promise<Outcome> => {
      // Stored only under a token that is really in the store; this request reads that token from now on.
      const storable = tag ? await tag.written : true;
      if (tag && storable) cache.remember(key.tag, label);
      const tracked = key.scope.namespace === PUBLIC_NAMESPACE ? trackCallerReads(ctx) : null;
      let value: unknown;
      try {
        value = await next(source, args, tracked ? tracked.ctx : ctx, info);
      } catch (error) {
        return { ok: false, error, callerBound: tracked?.readCaller() ?? false };
      }
      if (tracked?.readCaller()) {
        if (!callerBoundPublic.has(spec.coordinate)) {
          callerBoundPublic.add(spec.coordinate);
          logger.warn({ field: spec.coordinate }, '@cached(scope: PUBLIC) field read the caller (tenant, role or key): cached per tenant instead');
        }
        return { ok: true, value, callerBound: true };
      }
      if (storable && isPlainJson(value)) {
        const envelope: Envelope = { v: value, t: label, f: Date.now() + spec.ttlSeconds * 1000 };
        await write(guarded, cache, key.entry, envelope, (spec.ttlSeconds + spec.staleSeconds) * 1000);
      }
      return { ok: true, value, callerBound: false };
    });
  }

  /**
   * Drops what a mutation changed, in the caller's tenant: a new token for each tag. Awaited by the
   * mutation before it returns, so the caller's next read sees the change. When the store is
   * unreachable the entries are not dropped and stay until their TTL (logged): the mutation itself
   * still succeeds.
   */
  async function invalidate(ctx: GatewayContext, tags: readonly string[]): Promise<void> {
    if (!store || tags.length === 0 || !hasTenant(ctx.principal)) return;
    const tenantId = ctx.principal.tenantId;
    const keys = tags.map((tag) => tagKey(tenantId, tag));
    const cache = requestCache(ctx.state, store);
    cache.forget(keys);
    try {
      await store.setMany(keys.map((key) => ({ key, value: newToken(), ttlMs: TAG_TTL_MS })));
    } catch (err) {
      cache.markDegraded();
      logger.warn({ err: (err as Error).message, tenantId, tags, requestId: ctx.requestId }, 'cache invalidation failed: the entries stay until their TTL');
    }
  }

  return {
    enabled: store !== null,
    resolve: resolveCached,
    invalidate,
    /** `extensions.cache` for the request, or null when it touched no cached field. */
    report: (state: RequestState): CacheReport | null => requests.get(state)?.report() ?? null,
  };
}

export type FieldCache = ReturnType<typeof createFieldCache>;

/** 72 random bits: a tag's token; a new one on every invalidation. */
const newToken = () => randomBytes(9).toString('base64url');

function asEnvelope(stored: unknown): Envelope | null {
  if (typeof stored !== 'object' || stored === null) return null;
  const candidate = stored as Partial<Envelope>;
  return 'v' in candidate && typeof candidate.t === 'string' && typeof candidate.f === 'number' ? (candidate as Envelope) : null;
}
