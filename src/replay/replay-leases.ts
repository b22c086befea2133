import { withoutBurst } from '../limits/limiter/hold-cap.js';
import type { Adjustment, Dimension, DimensionResult, LeaseDecision, LeasingLimitStore, LimitDecision } from '../limits/store/types.js';
import type { LeaseGrantEvent, LeaseSettleEvent } from '../record/lease-event.js';

/** A lease the replay granted, as the store granted it live or not. */
interface ReplayLease {
  /** The dimensions it was granted on (a renewal's have no burst zones). */
  dims: readonly Dimension[];
  /** Where the replay's store placed its charge. */
  chargedAt: number;
  /** Tokens the replay has not handed out yet. */
  left: number;
  /**
   * Granted as the store granted it (the same dimensions and as many tokens): its requests are
   * served from it whatever is left, and its refunds are the recorded ones. Otherwise (fewer
   * tokens: the replay's windows hold more than live did) it serves while tokens are left, and
   * refunds what it has left at the recorded refund.
   */
  asRecorded: boolean;
  /** Response bytes reserved per request (its requests' bytes are settled within the lease: none of their own). */
  bytesPerRequest: number;
  /** The grant's results, `used` counting every token reserved. */
  results: DimensionResult[];
}

/** How long a lease is remembered after its charge, ms: far past any lease's lifetime and its refunds (a few seconds). */
const REMEMBERED_MS = 60_000;

/**
 * Leases in a replay (src/replay/REPLAY.md, "Leases"): a lease call's request reserves what the
 * recorded grant reserved, where the store placed it; its requests are admitted from the
 * reservation without a charge of their own; a renewal reserves at its own place in the tenant's
 * calls; refunds give back what the store gave back. A lease the replay cannot grant as recorded
 * (its dimensions changed by the proposal, its grant not in the period) is not granted: its
 * requests are then charged each at its decision.
 */
export function createReplayLeases(store: LeasingLimitStore, setClock: (t: number) => void) {
  /** Grants of a request's own lease call, until its record is replayed; by tenant and seq. */
  const grants = new Map<string, LeaseGrantEvent>();
  const leases = new Map<string, ReplayLease & { rememberedUntil: number }>();
  const nameOf = (tenantId: string, seq: number) => `${tenantId}\n${seq}`;

  /** Forgets leases (and grants) charged long before `t`: the oldest are first in the map. */
  const forget = (t: number): void => {
    for (const [name, lease] of leases) {
      if (lease.rememberedUntil > t) break;
      leases.delete(name);
    }
    for (const [name, grant] of grants) {
      if (grant.at + REMEMBERED_MS > t) break;
      grants.delete(name);
    }
  };

  /** A lease call on `dims` at `t` reserving what `grant` reserved, placed where it was. */
  const leaseCall = async (dims: readonly Dimension[], t: number, grant: LeaseGrantEvent): Promise<LeaseDecision> => {
    setClock(t);
    // The recorded grant, as far as the windows hold it: keep and share bound nothing more (they did live).
    return store.lease(dims, [], {
      tokens: grant.granted,
      lifetimeMs: grant.chargedAt - grant.at,
      keepPermille: 0,
      sharePermille: 1000,
      ...(grant.bytesPerRequest > 0 ? { bytesPerRequest: grant.bytesPerRequest } : {}),
    });
  };

  const keep = (tenantId: string, seq: number, lease: ReplayLease): void => {
    forget(lease.chargedAt);
    leases.set(nameOf(tenantId, seq), { ...lease, rememberedUntil: lease.chargedAt + REMEMBERED_MS });
  };

  return {
    /** A grant read from the record: a request's own is kept for its record; a renewal is a step of the tenant's timeline (`renew`). */
    known(grant: LeaseGrantEvent): void {
      if (grant.renews === null) grants.set(nameOf(grant.tenantId, grant.seq), grant);
    },

    /**
     * The decision of a lease call's own request (its record has `seq` = `leaseSeq`) on `dims`:
     * granted as recorded when `unchanged` (the proposal leaves every one of its dimensions as it
     * was live) and the recorded grant is known; null otherwise (the request is checked as any).
     */
    async call(tenantId: string, seq: number, dims: readonly Dimension[], t: number, unchanged: boolean): Promise<LimitDecision | null> {
      const grant = grants.get(nameOf(tenantId, seq));
      grants.delete(nameOf(tenantId, seq));
      if (!grant || !unchanged) return null;
      const decision = await leaseCall(dims, t, grant);
      if (!decision.allowed || decision.granted === 0) return decision;
      const lease = {
        dims,
        chargedAt: decision.chargedAt,
        left: decision.granted,
        asRecorded: decision.granted === grant.granted,
        bytesPerRequest: grant.bytesPerRequest,
        results: decision.results,
      };
      keep(tenantId, seq, lease);
      return tokenDecision(lease, t, seq);
    },

    /** A renewal, at its place in the tenant's calls: on the dimensions of the lease it renews, if the replay granted that one. */
    async renew(grant: LeaseGrantEvent): Promise<void> {
      const renewed = grant.renews === null ? undefined : leases.get(nameOf(grant.tenantId, grant.renews));
      if (!renewed) return;
      const dims = renewed.dims.map(withoutBurst);
      const decision = await leaseCall(dims, grant.at, grant);
      if (!decision.allowed) return;
      // Its own amount is one more token.
      const asRecorded = renewed.asRecorded && decision.granted === grant.granted;
      keep(grant.tenantId, grant.seq, {
        dims,
        chargedAt: decision.chargedAt,
        left: decision.granted + 1,
        asRecorded,
        bytesPerRequest: grant.bytesPerRequest,
        results: decision.results,
      });
    },

    /** A request served from lease `seq` at `t`: admitted with no charge of its own, or null when the replay has no token for it. */
    draw(tenantId: string, seq: number, t: number): LimitDecision | null {
      const lease = leases.get(nameOf(tenantId, seq));
      if (!lease || (!lease.asRecorded && lease.left <= 0)) return null;
      lease.left = Math.max(0, lease.left - 1);
      return tokenDecision(lease, t, seq);
    },

    /** Whether requests of lease `seq` settle their response bytes within its reservation (none of their own to add). */
    drawsBytes(tenantId: string, seq: number): boolean {
      return (leases.get(nameOf(tenantId, seq))?.bytesPerRequest ?? 0) > 0;
    },

    /** A lease's refund (or a response added past its draw), at its place in the tenant's calls. */
    async settle(event: LeaseSettleEvent): Promise<void> {
      const lease = leases.get(nameOf(event.tenantId, event.lease));
      if (!lease) return;
      const adjustments = lease.asRecorded ? recordedAdjustments(lease, event) : leftRefund(lease, event);
      // Tokens come back when the lease has ended: it serves no more.
      if (event.tokens > 0 || event.bytesRefunded > 0) lease.left = 0;
      if (adjustments.length === 0) return;
      setClock(event.at);
      await store.adjust(adjustments);
    },
  };
}

export type ReplayLeases = ReturnType<typeof createReplayLeases>;

/** A request's decision from a lease: admitted, `used` as the gateway reports it (the tokens not handed out yet not counted). */
function tokenDecision(lease: ReplayLease, t: number, seq: number): LimitDecision {
  const results = lease.results.map((result, i) => {
    const dimension = lease.dims[i]!;
    const used = result.used - (dimension.checkOnly ? lease.left * lease.bytesPerRequest : lease.left * dimension.amount);
    return { ...result, used, remaining: Math.max(0, result.limit - used) };
  });
  return { allowed: true, now: t, chargedAt: lease.chargedAt, leaseSeq: seq, results };
}

/** The store's adjustments as recorded: unused tokens and reserved bytes refunded where the lease was charged, bytes added now. */
function recordedAdjustments(lease: ReplayLease, event: LeaseSettleEvent): Adjustment[] {
  const adjustments: Adjustment[] = [];
  for (const dimension of lease.dims) {
    if (!dimension.checkOnly && dimension.amount > 0 && event.tokens > 0) {
      adjustments.push({ dimension, at: lease.chargedAt, delta: -event.tokens * dimension.amount, placement: 'at' });
    }
    if (!dimension.checkOnly) continue;
    if (event.bytesRefunded > 0) adjustments.push({ dimension, at: lease.chargedAt, delta: -event.bytesRefunded, placement: 'at' });
    if (event.bytesAdded > 0) adjustments.push({ dimension, at: event.at, delta: event.bytesAdded, placement: 'now' });
  }
  return adjustments;
}

/** A lease granted short of the record: at its recorded refund, the tokens it has left (its bytes are not followed). */
function leftRefund(lease: ReplayLease, event: LeaseSettleEvent): Adjustment[] {
  if (event.tokens <= 0 || lease.left <= 0) return [];
  return lease.dims
    .filter((d) => !d.checkOnly && d.amount > 0)
    .map((dimension): Adjustment => ({ dimension, at: lease.chargedAt, delta: -lease.left * dimension.amount, placement: 'at' }));
}
