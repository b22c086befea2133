import type { Config } from '../../config/schema.js';
import { chargeKey } from '../charge-key.js';
import { hashTag } from '../hash-tag.js';
import type { Adjustment, Dimension, DimensionResult, LeaseDecision, LeaseRequest, LimitDecision } from '../store/types.js';

/** Below this a lease would not outlive the round trip that asks for it. */
const MIN_LIFETIME_MS = 20;
/** A lease's lifetime is at most this fraction of its shortest sliding window (1 s of a minute). */
const WINDOW_FRACTION = 60;
/** Keys whose demand is remembered; past it the book forgets them all (they are re-learnt). */
const MAX_TRACKED = 10_000;

interface Lease {
  /** The dimensions the lease was granted on (equal, by `keyOf`, to those of every request it serves). */
  dims: readonly Dimension[];
  /** Their hash tag (the tenant). */
  tag: string;
  /** Reserved amounts not used yet. */
  tokens: number;
  /** Reserved amounts at the start. */
  size: number;
  /** performance.now() past which no token is used: the call's send time plus the lifetime. */
  usableUntil: number;
  /** Where Redis placed the whole charge (store clock): refunds go there. */
  chargedAt: number;
  /** Redis's results, `used` counting every reserved amount. */
  results: DimensionResult[];
  /** Store clock minus performance.now() when the reply arrived, for each token's `now`. */
  clockOffset: number;
  /** The renewal granted while this one still had tokens: used once this one is done. */
  next: Lease | null;
}

/** Lease tokens reserved (granted), served without a round trip (used), given back unused (refunded). */
export type LeaseOutcome = 'granted' | 'used' | 'refunded';

/** Requests of one key seen in the current and the previous lifetime. */
interface Demand {
  since: number;
  count: number;
  previous: number;
}

/**
 * The leases this instance holds and the demand that sizes them. It keeps the books only: the
 * calls that ask the store for leases, one at a time per key, are `leasing-decider.ts`'s.
 */
export interface LeaseBook {
  /**
   * What identifies requests a lease can serve: every key, limit, amount and window alike. Null
   * when these dimensions cannot be leased: a check-only dimension (its verdict is per request),
   * a window too short, nothing charged, or leases off.
   */
  keyOf(dims: readonly Dimension[]): string | null;
  /**
   * This request's decision from the key's lease (one token used), or null: no token left.
   * `again`: the same request's second try (after waiting for a lease call), counted once.
   */
  take(key: string, again?: boolean): LimitDecision | null;
  /** Whether the key's lease is half used with no renewal granted yet (time to ask for one, if demand goes on). */
  halfUsed(key: string): boolean;
  /** How many tokens a check of the key should ask for (0: a plain check), from its recent demand. */
  want(key: string): number;
  /** The lease call's parameters for `tokens` more of the request's amounts. */
  requestOf(dims: readonly Dimension[], tokens: number): LeaseRequest;
  /**
   * The store answered a lease call sent at `sentAt` (performance.now()): the request's own
   * decision, its `used` as if the reserved amounts were not charged yet (they count down as
   * tokens go). A renewal (no request of its own) keeps its own admission as one more token.
   */
  granted(key: string, dims: readonly Dimension[], decision: LeaseDecision, sentAt: number, renewal?: boolean): LimitDecision;
  /** Ends every lease (the store failed, the instance closes): unused tokens refunded. */
  endAll(): void;
  /** Ends leases past their lifetime (their tokens would never be used): call often. */
  sweep(): void;
  /** Forgets keys not seen for two lifetimes (their demand counts as none anyway). */
  forget(): void;
  /** Whether a lease on some dimensions of hash tag `tag` (a tenant) is live. */
  holds(tag: string): boolean;
}

/**
 * Leases: a check of dimensions this instance sees often reserves in Redis, in the same script
 * call, up to `maxTokens` more of the same request's amounts, all charged at once at the lease's
 * end (ALGORITHM.md, "Leases"). The instance's next requests on exactly those dimensions use them
 * without a round trip until they run out or the lifetime passes; what is left then is refunded.
 * Nothing is admitted that Redis has not charged, so a lease never loosens a limit: it can only
 * refuse another instance early while its tokens wait, and only while less than `keepPercent` of
 * the limit is left (no lease is granted then), by at most `sharePercent` of a limit per lease (two
 * per key at most: the one in use and its renewal), for at most the lifetime.
 */
export function createLeaseBook(
  config: Config['limits']['leases'],
  options: { refund: (adjustments: Adjustment[]) => void; onTokens?: (outcome: LeaseOutcome, tokens: number) => void },
): LeaseBook {
  const leases = new Map<string, Lease>();
  /** Live leases per hash tag (the tenant): the check at the door is not worth making for them. */
  const perTag = new Map<string, number>();
  const demand = new Map<string, Demand>();

  const lifetimeOf = (dims: readonly Dimension[]): number => {
    let lifetime = config.lifetimeMs;
    for (const d of dims) if (d.kind === 'sliding') lifetime = Math.min(lifetime, Math.floor(d.windowMs / WINDOW_FRACTION));
    return lifetime;
  };

  /** Ends the key's current lease (unused tokens refunded); its renewal, if any, takes over. */
  const retire = (key: string, lease: Lease): void => {
    if (lease.next) leases.set(key, lease.next);
    else leases.delete(key);
    end(lease);
  };

  const end = (lease: Lease): void => {
    const live = (perTag.get(lease.tag) ?? 1) - 1;
    if (live > 0) perTag.set(lease.tag, live);
    else perTag.delete(lease.tag);
    if (lease.tokens === 0) return;
    const refunds: Adjustment[] = [];
    for (const dimension of lease.dims) {
      if (dimension.checkOnly || dimension.amount === 0) continue;
      refunds.push({ dimension, at: lease.chargedAt, delta: -lease.tokens * dimension.amount, placement: 'at' });
    }
    options.onTokens?.('refunded', lease.tokens);
    lease.tokens = 0;
    if (refunds.length > 0) options.refund(refunds);
  };

  const count = (key: string, now: number): Demand => {
    let seen = demand.get(key);
    if (seen === undefined) {
      if (demand.size >= MAX_TRACKED) demand.clear();
      seen = { since: now, count: 0, previous: 0 };
      demand.set(key, seen);
    } else if (now - seen.since >= config.lifetimeMs) {
      // A whole lifetime or more without this key counts as none.
      seen.previous = now - seen.since < 2 * config.lifetimeMs ? seen.count : 0;
      seen.since = now;
      seen.count = 0;
    }
    seen.count++;
    return seen;
  };

  // What each method does is documented on `LeaseBook`.
  return {
    keyOf(dims) {
      if (!config.enabled || dims.length === 0) return null;
      let charged = false;
      for (const d of dims) {
        if (d.checkOnly) return null;
        if (d.amount > 0) charged = true;
      }
      if (!charged || lifetimeOf(dims) < MIN_LIFETIME_MS) return null;
      return chargeKey(dims);
    },

    take(key, again = false) {
      const now = performance.now();
      if (!again) count(key, now);
      let lease = leases.get(key);
      while (lease !== undefined && (lease.tokens === 0 || now > lease.usableUntil)) {
        retire(key, lease);
        lease = leases.get(key);
      }
      if (lease === undefined) return null;
      lease.tokens--;
      options.onTokens?.('used', 1);
      const decision = decisionOf(lease, now);
      // The last one: the next request takes the renewal, or makes a round trip (and the door may send it).
      if (lease.tokens === 0) retire(key, lease);
      return decision;
    },

    halfUsed(key) {
      const lease = leases.get(key);
      return lease !== undefined && lease.next === null && lease.tokens * 2 <= lease.size;
    },

    want(key) {
      const seen = demand.get(key);
      if (seen === undefined) return 0;
      // The requests of about one lifetime, this one excluded.
      return Math.min(config.maxTokens, Math.max(seen.previous, seen.count - 1));
    },

    requestOf(dims, tokens) {
      return {
        tokens,
        lifetimeMs: lifetimeOf(dims),
        keepPermille: Math.round(config.keepPercent * 10),
        sharePermille: Math.round(config.sharePercent * 10),
      };
    },

    granted(key, dims, decision, sentAt, renewal = false) {
      if (!decision.allowed || (decision.granted === 0 && !renewal)) return decision;
      const now = performance.now();
      const tokens = decision.granted + (renewal ? 1 : 0);
      const lease: Lease = {
        dims,
        tag: hashTag(dims[0]?.key ?? ''),
        tokens,
        size: tokens,
        usableUntil: sentAt + lifetimeOf(dims),
        chargedAt: decision.chargedAt,
        results: decision.results,
        clockOffset: decision.now - now,
        next: null,
      };
      const current = leases.get(key);
      if (current === undefined) leases.set(key, lease);
      else {
        // Behind the one in use; a renewal it already had (none is asked for then) is given back.
        if (current.next) end(current.next);
        current.next = lease;
      }
      perTag.set(lease.tag, (perTag.get(lease.tag) ?? 0) + 1);
      options.onTokens?.('granted', tokens);
      return renewal ? decision : decisionOf(lease, now);
    },

    endAll() {
      for (const lease of leases.values()) {
        if (lease.next) end(lease.next);
        end(lease);
      }
      leases.clear();
    },

    sweep() {
      if (leases.size === 0) return;
      const now = performance.now();
      for (const [key, first] of leases) {
        let lease: Lease | undefined = first;
        while (lease !== undefined && now > lease.usableUntil) {
          retire(key, lease);
          lease = leases.get(key);
        }
      }
    },

    forget() {
      const now = performance.now();
      for (const [key, seen] of demand) if (now - seen.since >= 2 * config.lifetimeMs) demand.delete(key);
    },

    holds: (tag) => perTag.has(tag),
  };
}

/** A token's decision: admitted, `used` counting the tokens handed out so far, not those left. */
function decisionOf(lease: Lease, now: number): LimitDecision {
  const results: DimensionResult[] = [];
  for (let i = 0; i < lease.results.length; i++) {
    const result = lease.results[i]!;
    const used = result.used - lease.tokens * lease.dims[i]!.amount;
    results.push({
      name: result.name,
      limit: result.limit,
      used,
      remaining: Math.max(0, result.limit - used),
      resetAt: result.resetAt,
      retryAfterMs: result.retryAfterMs,
      allowed: result.allowed,
    });
  }
  return { allowed: true, now: Math.round(now + lease.clockOffset), chargedAt: lease.chargedAt, results };
}
