import type { Config } from '../../config/schema.js';
import { chargeKey } from '../charge-key.js';
import { hashTag } from '../hash-tag.js';
import type { Adjustment, ByteDraw, Dimension, DimensionResult, LeaseDecision, LeaseRequest, LimitDecision } from '../store/types.js';
import { canDraw, drawBytes, endReservation, reserveBytes, settleDraw, type ByteReservation, type DrawSettle } from './byte-reservation.js';
import type { LeaseTrail } from './lease-trail.js';

/** Below this a lease would not outlive the round trip that asks for it. */
const MIN_LIFETIME_MS = 20;
/** A lease's lifetime is at most this fraction of its shortest sliding window (1 s of a minute). */
const WINDOW_FRACTION = 60;

type LeaseConfig = Config['limits']['leases'];

interface Lease {
  /** Its key in the book (`leaseKeyOf` its dimensions). */
  key: string;
  /** The dimensions the lease was granted on (equal, by `leaseKeyOf`, to those of every request it serves). */
  dims: readonly Dimension[];
  /** Their hash tag (the tenant). */
  tag: string;
  /** The lease call's number in its tag (call-sequence.ts): the lease's name in the request record. */
  seq: number;
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
  /** Response bytes reserved on its check-only dimensions (a byte budget), or null: none there. */
  bytes: ByteReservation | null;
}

/** What a request served from a lease with a byte reservation drew: settled against that lease. */
class LeaseDraw implements ByteDraw {
  constructor(
    readonly lease: Lease,
    readonly bytes: number,
  ) {}
}

/** Lease tokens reserved (granted), served without a round trip (used), given back unused (refunded). */
export type LeaseOutcome = 'granted' | 'used' | 'refunded';

/**
 * The leases this instance holds (ALGORITHM.md, "Leases"): a check of dimensions this instance
 * sees often reserves in Redis, in the same script call, up to `maxTokens` more of the same
 * request's amounts, all charged at once at the lease's end. The instance's next requests on
 * exactly those dimensions use them without a round trip until they run out or the lifetime
 * passes; what is left then is refunded. Nothing is admitted that Redis has not charged, so a
 * lease never loosens a limit: it can only refuse another instance early while its tokens wait,
 * and only while less than `keepPercent` of the limit is left (no lease is granted then), by at
 * most `sharePercent` of a limit per lease (two per key at most: the one in use and its renewal),
 * for at most the lifetime. The calls that ask for leases are `leasing-decider.ts`'s.
 */
export interface LeaseBook {
  /** This request's decision from the key's lease (one token used), or null: no token left. */
  take(key: string): LimitDecision | null;
  /** Whether the key's lease is half used with no renewal granted yet (time to ask for one, if demand goes on). */
  halfUsed(key: string): boolean;
  /** The `seq` of the key's lease in use (what a renewal asked for now renews), null: none. */
  inUse(key: string): number | null;
  /**
   * The store answered a lease call sent at `sentAt` (performance.now()): the request's own
   * decision, its `used` as if the reserved amounts were not charged yet (they count down as
   * tokens go). A renewal (no request of its own) keeps its own admission as one more token.
   * `bytesPerRequest`: what the call reserved per request on its check-only dimensions (0: none).
   * `renews`: a renewal's, the lease in use when it was asked for (`inUse`).
   */
  granted(
    key: string,
    dims: readonly Dimension[],
    decision: LeaseDecision,
    sentAt: number,
    renewal?: boolean,
    bytesPerRequest?: number,
    renews?: number | null,
  ): LimitDecision;
  /**
   * A leased request's response bytes settled against its draw (`byte-reservation.ts`): what to
   * send; with `overflow` (the response was larger than what was left), its lease has ended and
   * the adjustments go at once.
   */
  settle(draw: ByteDraw, bytes: number, at: number): DrawSettle;
  /** Ends every lease (the store failed, the instance closes): unused tokens refunded. */
  endAll(): void;
  /** Ends leases past their lifetime (their tokens would never be used): call often. */
  sweep(): void;
  /** Whether a lease on some dimensions of hash tag `tag` (a tenant) is live. */
  holds(tag: string): boolean;
}

/**
 * What identifies requests a lease can serve: every key, limit, amount and window alike. Null when
 * these dimensions cannot be leased: a window too short, nothing charged, or leases off. (A
 * check-only dimension, a byte budget, is leased only with bytes reserved on it: `leaseRequestOf`.)
 */
export function leaseKeyOf(config: LeaseConfig, dims: readonly Dimension[]): string | null {
  if (!config.enabled || dims.length === 0) return null;
  let charged = false;
  for (const d of dims) {
    if (!d.checkOnly && d.amount > 0) charged = true;
  }
  if (!charged || lifetimeOf(config, dims) < MIN_LIFETIME_MS) return null;
  return chargeKey(dims);
}

/**
 * The lease call's parameters for `tokens` more of the request's amounts, and `bytesPerRequest`
 * response bytes reserved per request on its check-only dimensions (0: none, and no lease with one).
 */
export function leaseRequestOf(config: LeaseConfig, dims: readonly Dimension[], tokens: number, bytesPerRequest = 0): LeaseRequest {
  return {
    tokens,
    lifetimeMs: lifetimeOf(config, dims),
    keepPermille: Math.round(config.keepPercent * 10),
    sharePermille: Math.round(config.sharePercent * 10),
    ...(bytesPerRequest > 0 ? { bytesPerRequest } : {}),
  };
}

export function createLeaseBook(
  config: LeaseConfig,
  options: {
    refund: (adjustments: Adjustment[]) => void;
    onTokens?: (outcome: LeaseOutcome, tokens: number) => void;
    /** Told of every lease granted and every adjustment of one (the request record's lease events). */
    trail?: LeaseTrail;
  },
): LeaseBook {
  const leases = new Map<string, Lease>();
  /** Live leases per hash tag (the tenant): the check at the door is not worth making for them. */
  const perTag = new Map<string, number>();

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
    if (lease.tokens > 0) options.onTokens?.('refunded', lease.tokens);
    const refunds = refundsOf(lease);
    if (refunds.length === 0) return;
    options.trail?.adjusted(lease.tag, lease.seq, refunds);
    options.refund(refunds);
  };

  /**
   * Ends `lease` and its key's other lease (the one in use or its renewal), if `lease` is still in
   * the book: both reserved bytes by sizes a larger response has just outdated.
   */
  const endWithRenewal = (lease: Lease): void => {
    const current = leases.get(lease.key);
    if (current === undefined || (current !== lease && current.next !== lease)) return;
    leases.delete(lease.key);
    if (current.next) end(current.next);
    end(current);
  };

  // What each method does is documented on `LeaseBook`.
  return {
    take(key) {
      const now = performance.now();
      let lease = leases.get(key);
      while (lease !== undefined && spent(lease, now)) {
        retire(key, lease);
        lease = leases.get(key);
      }
      if (lease === undefined) return null;
      lease.tokens--;
      options.onTokens?.('used', 1);
      const decision = decisionOf(lease, now, lease.bytes ? drawBytes(lease.bytes) : 0);
      // The last one: the next request takes the renewal, or makes a round trip (and the door may send it).
      if (spent(lease, now)) retire(key, lease);
      return decision;
    },

    halfUsed(key) {
      const lease = leases.get(key);
      return lease !== undefined && lease.next === null && halfUsed(lease);
    },

    inUse: (key) => leases.get(key)?.seq ?? null,

    granted(key, dims, decision, sentAt, renewal = false, bytesPerRequest = 0, renews = null) {
      if (!decision.allowed || (decision.granted === 0 && !renewal)) return decision;
      const now = performance.now();
      const tokens = decision.granted + (renewal ? 1 : 0);
      const lease: Lease = {
        key,
        dims,
        tag: hashTag(dims[0]?.key ?? ''),
        seq: decision.seq ?? 0,
        tokens,
        size: tokens,
        usableUntil: sentAt + lifetimeOf(config, dims),
        chargedAt: decision.chargedAt,
        results: decision.results,
        clockOffset: decision.now - now,
        next: null,
        bytes: reserveBytes(dims, bytesPerRequest, decision.granted, decision.chargedAt),
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
      options.trail?.granted({
        tag: lease.tag,
        seq: lease.seq,
        now: decision.now,
        chargedAt: decision.chargedAt,
        granted: decision.granted,
        bytesPerRequest: lease.bytes ? bytesPerRequest : 0,
        renews: renewal ? renews : null,
      });
      if (renewal) return decision;
      // The request's own admission draws its bytes first, as a token's would; it is the lease call's own.
      return { ...decisionOf(lease, now, lease.bytes ? drawBytes(lease.bytes) : 0), now: decision.now, seq: lease.seq };
    },

    settle(draw, bytes, at) {
      if (!(draw instanceof LeaseDraw) || draw.lease.bytes === null) throw new Error('a byte draw must come from this lease book');
      const settled = settleDraw(draw.lease.bytes, draw.bytes, bytes, at);
      if (settled.adjustments.length > 0) options.trail?.adjusted(draw.lease.tag, draw.lease.seq, settled.adjustments);
      // Larger than what was left: the lease ends, and its renewal (remainders and unused tokens refunded).
      if (settled.overflow) endWithRenewal(draw.lease);
      return settled;
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

    holds: (tag) => perTag.has(tag),
  };
}

/** Whether a lease can serve no more requests: no token, past its lifetime, or too few bytes left. */
function spent(lease: Lease, now: number): boolean {
  return lease.tokens === 0 || now > lease.usableUntil || (lease.bytes !== null && !canDraw(lease.bytes));
}

/** Half of its tokens, or of its reserved bytes, used. */
function halfUsed(lease: Lease): boolean {
  return lease.tokens * 2 <= lease.size || (lease.bytes !== null && lease.bytes.left * 2 <= lease.size * lease.bytes.perRequest);
}

/** A lease's end: its unused tokens and unused reserved bytes, refunded where they were charged (it holds none after). */
function refundsOf(lease: Lease): Adjustment[] {
  const refunds: Adjustment[] = lease.bytes ? endReservation(lease.bytes) : [];
  if (lease.tokens === 0) return refunds;
  for (const dimension of lease.dims) {
    if (dimension.checkOnly || dimension.amount === 0) continue;
    refunds.push({ dimension, at: lease.chargedAt, delta: -lease.tokens * dimension.amount, placement: 'at' });
  }
  lease.tokens = 0;
  return refunds;
}

function lifetimeOf(config: LeaseConfig, dims: readonly Dimension[]): number {
  let lifetime = config.lifetimeMs;
  for (const d of dims) if (d.kind === 'sliding') lifetime = Math.min(lifetime, Math.floor(d.windowMs / WINDOW_FRACTION));
  return lifetime;
}

/**
 * A token's decision: admitted, `used` counting the tokens handed out so far, not those left (on a
 * byte budget: the reserved bytes not drawn yet), with its byte draw (`drawn` bytes) if any.
 */
function decisionOf(lease: Lease, now: number, drawn: number): LimitDecision {
  const results: DimensionResult[] = [];
  for (let i = 0; i < lease.results.length; i++) {
    const result = lease.results[i]!;
    const dimension = lease.dims[i]!;
    const used = result.used - (dimension.checkOnly ? (lease.bytes?.left ?? 0) : lease.tokens * dimension.amount);
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
  const decision: LimitDecision = { allowed: true, now: Math.round(now + lease.clockOffset), chargedAt: lease.chargedAt, leaseSeq: lease.seq, results };
  if (drawn > 0) decision.draw = new LeaseDraw(lease, drawn);
  return decision;
}
