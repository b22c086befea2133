import { randomBytes } from 'node:crypto';
import { responsePathAsArray, type GraphQLFieldResolver, type GraphQLResolveInfo } from 'graphql';
import { hasTenant } from '../auth/principal.js';
import type { GatewayContext } from '../graph/context.js';
import type { Logger } from '../observability/logger.js';
import { entryKey, tagKey } from './cache-keys.js';
import { keyScope, type CacheScope, type KeyScope } from './cache-scope.js';
import { isPlainJson } from './canonical.js';
import { createCoalescer } from './coalescer.js';
import type { Identify } from './entry-tags.js';
import type { GuardedStore } from './guarded-store.js';
import { fillContext, LEVEL_SCOPE, LEVELS, SCOPE_LEVEL, trackParent, type Level } from './fill-context.js';
import { createRequestCache, type CacheReport, type RequestCache } from './request-cache.js';
import { createUnsettledTags } from './unsettled-tags.js';

/** Longest a value may be kept, fresh plus stale, in seconds: one day (checked at start). */
export const MAX_ENTRY_SECONDS = 86_400;
/** Tag tokens live longer than any entry: a tag that expires or is evicted only turns entries into misses. */
const TAG_TTL_MS = 2 * MAX_ENTRY_SECONDS * 1000;

/** How long a stored value's flight stays joinable by misses that read its token (at most a tenth of the TTL): 1 s. */
const LANDED_KEEP_MS = 1000;

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
  /** Below the root: the parent object is a loaded record whose reads are watched. */
  belowRoot: boolean;
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

/**
 * The settled result of one downstream resolution, shared by the callers it was coalesced for
 * unless `private`: a value that depended on more of its caller than the entry's scope, or was not
 * the object the key names, belongs to the caller that resolved it only.
 */
type Outcome = { ok: true; value: unknown; private: boolean; stored?: true } | { ok: false; error: unknown; private: boolean };

/** Why a resolved value was not stored (`cache_refused_total{reason}`). */
export type RefusalReason = 'scope' | 'identity' | 'parent';

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
 * beyond the race every cache has (a read that started before the mutation finished). An
 * invalidation the store did not take blocks the tag's entries in this instance until a retry
 * lands (unsettled-tags.ts): fail strict, never serve a value the mutation should have dropped.
 *
 * `store` null (cache disabled) makes every call resolve downstream: the no-op implementation.
 */
export function createFieldCache(deps: {
  store: GuardedStore | null;
  logger: Logger;
  /** Called for every cached field resolved (metrics); `field` is `Type.field`. Default: nothing. */
  onResult?: (field: string, result: 'hit' | 'miss' | 'stale') => void;
  /** Called for every resolved value not stored for what it is (metrics). Default: nothing. */
  onRefused?: (field: string, reason: RefusalReason) => void;
}) {
  const { store, logger } = deps;
  const onResult = deps.onResult ?? (() => {});
  const onRefused = deps.onRefused ?? (() => {});
  const flights = createCoalescer<Outcome>();
  /** Tokens being written for tags that had none, so that concurrent misses label with the same one. */
  const pendingTags = new Map<string, { token: string; written: Promise<boolean> }>();
  /** Each request's view of the cache, by the request's identity (its state, which lives as long as the request). */
  const requests = new WeakMap<object, RequestCache>();
  const unsettled = createUnsettledTags({
    write: (tagKeys) => store!.setMany(tagKeys.map((key) => ({ key, value: newToken(), ttlMs: TAG_TTL_MS }))),
    logger,
  });
  /**
   * Fields whose resolver was seen reading more of the caller than their scope keys on: the level
   * it read (fill-context.ts). They are cached in the scope of that level from then on in this
   * instance (PUBLIC -> TENANT, TENANT -> ROLE, ...), or not at all for REQUEST.
   */
  const narrowed = new Map<string, Level>();
  /** Fields seen reading their parent beyond its id or returning another object than their key names: logged once each. */
  const warned = new Set<string>();

  function refuse(spec: CachedFieldSpec, reason: RefusalReason, message: string, details: Record<string, unknown> = {}): void {
    onRefused(spec.coordinate, reason);
    const once = `${spec.coordinate}|${reason}|${JSON.stringify(details)}`;
    if (warned.has(once)) return;
    warned.add(once);
    logger.warn({ field: spec.coordinate, reason, ...details }, message);
  }

  function requestCache(state: object, guarded: GuardedStore): RequestCache {
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

  async function resolveCached(
    spec: CachedFieldSpec,
    next: Resolver,
    source: unknown,
    args: Record<string, unknown>,
    ctx: GatewayContext,
    info: GraphQLResolveInfo,
  ): Promise<unknown> {
    if (!store || spec.ttlSeconds === 0) return next(source, args, ctx, info);
    const scope = scopeOf(spec);
    if (!scope) return next(source, args, ctx, info);
    const key = keysFor(spec, scope, source, args, ctx);
    if (!key) return next(source, args, ctx, info);

    const cache = requestCache(ctx.state, store);
    const path = responsePathAsArray(info.path).join('.');
    // Flights that start after this moment load their values after this read was issued.
    const readMark = flights.mark();
    const [stored, token] = await cache.read([key.entry, key.tag]);
    if (unsettled.has(key.tag)) {
      // A mutation's invalidation of this tag has not landed: whatever the store holds for it may
      // predate the mutation. Resolved downstream, neither served from nor written to the cache.
      cache.record(path, 'MISS');
      cache.markDegraded();
      onResult(spec.coordinate, 'miss');
      return next(source, args, ctx, info);
    }
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
        if (!flights.find(key.entry, (flight) => flight.label === token)) {
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
    // A miss that read a token joins only that token's flight. One that read none (the tag is
    // absent, or the read failed: it may have started after an invalidation it could not see)
    // joins only a flight that started after its read was issued, never a landed one: it fills
    // again and so writes the tag and entry back.
    const joining = flights.find(key.entry, (flight) => (read === undefined ? !flight.landed && flight.started > readMark : flight.label === read));
    const settled = await (joining ?? fill(spec, key, read, next, source, args, ctx, info, cache));
    // A coalesced call whose value was the leader's own (see Outcome): resolve ours.
    if (joining !== undefined && settled.private) return next(source, args, ctx, info);
    if (!settled.ok) throw settled.error;
    return settled.value;
  }

  /** The field's scope now: its declared one, or the narrower one its resolver was seen to need; null: not cached. */
  function scopeOf(spec: CachedFieldSpec): CacheScope | null {
    const seen = narrowed.get(spec.coordinate);
    return seen === undefined || seen <= SCOPE_LEVEL[spec.scope] ? spec.scope : LEVEL_SCOPE[seen];
  }

  function keysFor(spec: CachedFieldSpec, scope: CacheScope, source: unknown, args: Record<string, unknown>, ctx: GatewayContext) {
    const keyed: KeyScope | null = keyScope(scope, ctx.principal);
    const identity = keyed ? spec.identify(source, args) : undefined;
    if (!keyed || !identity) return null;
    try {
      return {
        scope,
        entry: entryKey(spec.version, keyed, spec.coordinate, args, identity.parent),
        tag: tagKey(keyed.namespace, identity.tag),
        owns: identity.owns,
      };
    } catch (err) {
      // An argument JSON cannot encode: serve uncached rather than key it ambiguously.
      logger.debug({ err: (err as Error).message, field: spec.coordinate }, 'cache key not computable; field served uncached');
      return null;
    }
  }

  /**
   * Resolves downstream as the flight for this entry and token, and stores the value when it may
   * be stored. The rules, all enforced here and nowhere else:
   * - Fresh reads: a value is stored only under a token read (or written) before the value was
   *   loaded. The resolver runs after the token is known, with the request's loaders seen from
   *   that moment (fill-context.ts: a value a loader memoised earlier in the request is fetched
   *   again), and a value computed from its parent's fields (loaded before) is not stored.
   * - Scope: a value is stored only if its resolver read no more of the caller than the entry's
   *   scope keys on; otherwise the field is narrowed (log line, `cache_refused_total{reason="scope"}`).
   * - Identity: a value is stored only if it is the object its key names (`owns`).
   * - Plain JSON, no error, and a token really in the store.
   * A value refused for scope or identity is served to its own caller only, never to a joiner.
   */
  function fill(
    spec: CachedFieldSpec,
    key: { scope: CacheScope; entry: string; tag: string; owns(value: unknown): boolean },
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
    return flights.start(
      key.entry,
      label,
      async (): Promise<Outcome> => {
        // Stored only under a token that is really in the store; this request reads that token from now on.
        const storable = tag ? await tag.written : true;
        if (tag && storable) cache.remember(key.tag, label);
        // The token is known from here: every value the resolver loads is loaded after it.
        const fresh = fillContext(ctx, ctx.loaders?.clock.now() ?? 0);
        const parent = spec.belowRoot ? trackParent(source) : null;
        let value: unknown;
        try {
          value = await next(parent ? parent.source : source, args, fresh.ctx, info);
        } catch (error) {
          return { ok: false, error, private: fresh.level() > SCOPE_LEVEL[key.scope] };
        }
        const level = fresh.level();
        if (level > SCOPE_LEVEL[key.scope]) {
          if ((narrowed.get(spec.coordinate) ?? 0) < level) narrowed.set(spec.coordinate, level);
          const to = LEVEL_SCOPE[level] ?? 'not cached';
          refuse(
            spec,
            'scope',
            `@cached field read more of the caller (${LEVELS[level]}) than its scope ${key.scope} keys on: cached ${to === 'not cached' ? 'no more' : `per ${to}`} instead`,
            { scope: key.scope, narrowedTo: to },
          );
          return { ok: true, value, private: true };
        }
        if (!key.owns(value)) {
          refuse(spec, 'identity', '@cached field resolved another object than its key names: served, not stored');
          return { ok: true, value, private: true };
        }
        if (parent?.readBeyondId()) {
          refuse(spec, 'parent', '@cached field computed its value from its parent object, loaded before its token: served, not stored');
          return { ok: true, value, private: false };
        }
        if (storable && isPlainJson(value)) {
          const envelope: Envelope = { v: value, t: label, f: Date.now() + spec.ttlSeconds * 1000 };
          if (await write(guarded, cache, key.entry, envelope, (spec.ttlSeconds + spec.staleSeconds) * 1000))
            return { ok: true, value, private: false, stored: true };
        }
        return { ok: true, value, private: false };
      },
      (outcome) => (outcome.ok && outcome.stored ? Math.min(LANDED_KEEP_MS, spec.ttlSeconds * 100) : 0),
    );
  }

  /**
   * Drops what a mutation changed, in the caller's tenant: a new token for each tag. Awaited by the
   * mutation before it returns, so the caller's next read sees the change. When the store does not
   * take the new tokens (failed, timed out, breaker open) the mutation still succeeds, and the tags
   * are unsettled (unsettled-tags.ts): this instance serves none of their entries until a retried
   * write of new tokens lands (logged). A write that timed out may still land later: harmless, it
   * only writes another new token.
   */
  async function invalidate(ctx: GatewayContext, tags: readonly string[]): Promise<void> {
    if (!store || tags.length === 0 || !hasTenant(ctx.principal)) return;
    const tenantId = ctx.principal.tenantId;
    const keys = tags.map((tag) => tagKey(tenantId, tag));
    const cache = requestCache(ctx.state, store);
    cache.forget(keys);
    const since = unsettled.mark();
    try {
      await store.setMany(keys.map((key) => ({ key, value: newToken(), ttlMs: TAG_TTL_MS })));
      unsettled.settled(keys, since);
    } catch (err) {
      unsettled.failed(keys);
      cache.markDegraded();
      logger.warn(
        { err: (err as Error).message, tenantId, tags, requestId: ctx.requestId },
        'cache invalidation failed: the entries of these tags are not served by this instance until a retry lands',
      );
    }
  }

  return {
    enabled: store !== null,
    resolve: resolveCached,
    invalidate,
    /** `extensions.cache` for the request, or null when it touched no cached field. */
    report: (state: object): CacheReport | null => requests.get(state)?.report() ?? null,
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
