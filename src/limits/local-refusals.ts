import type { TenantPrincipal } from '../auth/principal.js';
import type { LimitDimension } from './dimensions.js';
import { rateLimitHeaders } from './headers.js';
import { rateLimitedDetails } from './rate-limit-error.js';
import type { DimensionResult, LimitDecision } from './store/types.js';
import type { DecisionSource } from './limiter.js';

/**
 * Which refusals apply to every later request of the same caller, whatever it asks: the policies
 * that every counted request (anything but the free `usage` / `rateLimit` operations) is charged
 * or checked against, by whose requests they count. Cost points and per-field limits are not
 * here: a cheaper operation, or one without that field, may still fit.
 */
const SCOPE_OF_POLICY: Record<string, 'tenant' | 'client' | 'ip' | 'key-ip'> = {
  minute: 'tenant',
  day: 'tenant',
  month: 'tenant',
  'bytes-hour': 'tenant',
  'client-minute': 'client',
  'ip-minute': 'ip',
  'key-ip-minute': 'key-ip',
};

/** The 429 as the store's refusal would be answered at `storeNow`, `retryAfterMs` before it ends. */
function answerOf(refusal: Refusal, retryAfterMs: number, storeNow: number): Omit<LocalRefusal, 'storeNow' | 'remainingMs'> {
  const details = rateLimitedDetails({
    planName: refusal.planName,
    planId: refusal.planId,
    dimension: refusal.dimension,
    result: { ...refusal.result, retryAfterMs },
    documentationUrl: refusal.documentationUrl,
  });
  return {
    body: JSON.stringify({ errors: [{ message: details.message, extensions: details.extensions }] }),
    headers: { ...rateLimitHeaders(refusal.dims, refusal.results, storeNow), 'retry-after': String(details.retryAfterSeconds) },
    planId: refusal.planId,
    dimension: refusal.dimension.kind,
  };
}

/**
 * How long a refusal holds for every request of the caller: until its `retryAfterMs`, or for a
 * dimension with a burst zone (graduated throttling) until the store could hold the next request
 * instead, once the wait is within the zone's `maxDelayMs`: never longer (a request the store
 * would hold then is not refused from memory). A refusal whose wait was already within the delay
 * was refused by the zone's count (every request it may hold is held) or by this instance's cap
 * on held requests: it holds until its own Retry-After, as a refusal without a zone does. Room in
 * the count may open a little sooner, when an older charge leaves the window (the store's reply
 * does not say when), so a request the store would have held then is refused early: strict, and
 * a retry loop past its burst costs one store call per Retry-After instead of one per request.
 */
function refusedForMs(dimension: LimitDimension, result: DimensionResult): number {
  const { store } = dimension;
  const burst = store.kind === 'sliding' ? store.burst : undefined;
  if (burst === undefined || result.retryAfterMs <= burst.maxDelayMs) return result.retryAfterMs;
  return result.retryAfterMs - burst.maxDelayMs;
}

/** Refusals remembered at most (each a few hundred bytes); forgetting one only costs a store call. */
const MAX_REFUSALS = 50_000;

/** A refusal the store decided, kept to answer the caller's next requests without asking again. */
interface Refusal {
  /** Local clock (Date.now()), epoch ms: refused until then. */
  until: number;
  /** Local clock when the store decided it, and the store's clock then. */
  decidedAt: number;
  storeNow: number;
  planId: string;
  planName: string;
  documentationUrl: string;
  dimension: LimitDimension;
  result: DimensionResult;
  /** Every dimension of the refused request with its result, for the rate-limit headers. */
  dims: LimitDimension[];
  results: DimensionResult[];
  /** The last answer built, reused while its Retry-After (whole seconds) and its clock second stay the same. */
  answer?: Omit<LocalRefusal, 'storeNow' | 'remainingMs'> & { key: string };
}

/**
 * A refusal answered from memory: the 429's body and headers, as the store would have answered,
 * built once per second of a refusal rather than per request (an error object alone, with its
 * stack trace, cost more than the rest of a refusal).
 */
export interface LocalRefusal {
  /** The JSON body: `{ errors: [{ message, extensions: { code: 'RATE_LIMITED', ... } }] }`. */
  body: string;
  /** Rate-limit headers and `retry-after`. */
  headers: Record<string, string>;
  planId: string;
  /** The refused dimension's kind (`requests`, `quota`, `bandwidth`). */
  dimension: string;
  /** The store's clock now, as estimated from the refusal's decision (for `x-ratelimit-decision`). */
  storeNow: number;
  /** How much longer this refusal is answered from memory, ms. */
  remainingMs: number;
}

export interface LocalRefusals {
  /** After a store decision refused a request: remembers the refusals that apply to every request of the caller. */
  remember(input: {
    principal: TenantPrincipal;
    ip: string;
    plan: { planId: string; planName: string };
    documentationUrl: string;
    dims: LimitDimension[];
    decision: LimitDecision;
    /** Who decided: only the shared store's refusals are remembered. */
    source: DecisionSource;
  }): void;
  /**
   * The refusal in force for this caller, if any; null once it has ended. With `ip` null, only
   * the refusals of the tenant and of the key (the front door, which does not work out a
   * client's address behind proxies: per-address refusals are found by the door's hook).
   */
  find(principal: TenantPrincipal, ip: string | null): LocalRefusal | null;
  /** Limits changed (a config reload): forget everything. */
  clear(): void;
  /** Whether any refusal is remembered (ended ones included until they are looked up or swept). */
  any(): boolean;
}

/**
 * Refusals that cost almost nothing. A caller that the limit store has just refused on a policy
 * every one of its requests counts against is refused again from memory, before its operation
 * is parsed, until that refusal ends: the moment its Retry-After says, and never more than
 * `maxMs` later than the decision (so a limit raised at run time, which the store would apply at
 * once, is applied here within that time). A refused request consumes nothing, so answering it
 * from memory never changes what is admitted; it can only refuse early (if other requests are
 * refunded in the meantime), never admit more.
 */
export function createLocalRefusals(options: { maxMs: number; now?: () => number }): LocalRefusals {
  const now = options.now ?? Date.now;
  const refusals = new Map<string, Refusal>();

  const scopeKey = (scope: 'tenant' | 'client' | 'ip' | 'key-ip', principal: TenantPrincipal, ip: string | null): string =>
    scope === 'tenant'
      ? `t\n${principal.tenantId}`
      : scope === 'client'
        ? `c\n${principal.tenantId}\n${principal.clientId}`
        : scope === 'ip'
          ? `i\n${principal.tenantId}\n${ip}`
          : `k\n${principal.tenantId}\n${principal.clientId}\n${ip}`;

  const lookup = (key: string, at: number): Refusal | null => {
    const refusal = refusals.get(key);
    if (!refusal) return null;
    if (refusal.until > at) return refusal;
    refusals.delete(key);
    return null;
  };

  /** Drops ended refusals; if every one is still running (a flood from very many addresses), all of them. */
  const sweep = (at: number): void => {
    for (const [key, refusal] of refusals) if (refusal.until <= at) refusals.delete(key);
    if (refusals.size >= MAX_REFUSALS) refusals.clear();
  };

  return {
    remember({ principal, ip, plan, documentationUrl, dims, decision, source }) {
      // A refusal of the local fallback (Redis unreachable) is by this instance's share of a
      // limit, which changes as soon as Redis answers again: not worth repeating from memory.
      if (source !== 'shared') return;
      const decidedAt = now();
      for (let i = 0; i < dims.length; i++) {
        const result = decision.results[i];
        const dimension = dims[i]!;
        const scope = SCOPE_OF_POLICY[dimension.policy];
        if (!result || result.allowed || !scope) continue;
        const forMs = refusedForMs(dimension, result);
        if (forMs <= 0) continue;
        const until = decidedAt + Math.min(forMs, options.maxMs);
        const key = scopeKey(scope, principal, ip);
        if (refusals.size >= MAX_REFUSALS && !refusals.has(key)) sweep(decidedAt);
        const known = refusals.get(key);
        if (known && known.until >= until) continue;
        refusals.set(key, { until, decidedAt, storeNow: decision.now, ...plan, documentationUrl, dimension, result, dims, results: decision.results });
      }
    },

    find(principal, ip) {
      if (refusals.size === 0) return null;
      const at = now();
      const refusal =
        lookup(scopeKey('tenant', principal, ip), at) ??
        lookup(scopeKey('client', principal, ip), at) ??
        (ip === null ? null : lookup(scopeKey('ip', principal, ip), at)) ??
        (ip !== null && principal.kind === 'apiKey' && principal.publishable ? lookup(scopeKey('key-ip', principal, ip), at) : null);
      if (!refusal) return null;
      // As the store would answer now: the same counts, the time to wait shortened by what has passed.
      const elapsed = at - refusal.decidedAt;
      const storeNow = refusal.storeNow + elapsed;
      const retryAfterMs = Math.max(1, refusal.result.retryAfterMs - elapsed);
      const key = `${Math.ceil(retryAfterMs / 1000)}/${Math.floor(storeNow / 1000)}`;
      let answer = refusal.answer;
      if (answer?.key !== key) answer = refusal.answer = { key, ...answerOf(refusal, retryAfterMs, storeNow) };
      return { body: answer.body, headers: answer.headers, planId: answer.planId, dimension: answer.dimension, storeNow, remainingMs: refusal.until - at };
    },

    clear() {
      refusals.clear();
    },

    any: () => refusals.size > 0,
  };
}
