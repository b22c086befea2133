import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { withReplyTimeout } from '../stores/reply-timeout.js';
import { createLedger } from './fallback/ledger.js';
import { createLocalDecider } from './fallback/local-decider.js';
import type { StoreLink } from './fallback/redis-link.js';
import { createWriteBack } from './fallback/write-back.js';
import type { DecisionSource, Limiter, LimiterOutcome, StoreState } from './limiter/interface.js';
import { createStoreBreaker } from './limiter/store-breaker.js';
import { createSettleCarrier } from './limiter/settle-carrier.js';
import { createSingleProcessLimiter } from './limiter/single-process.js';
import { createStoreClock } from './limiter/store-clock.js';
import { createLeaseBook, LEASE_SWEEP_MS, type LeaseOutcome } from './leases.js';
import type { Adjustment, Dimension, LeaseDecision, LimitDecision, LimitStore } from './store/types.js';
import { InvalidDimensionError, validateAdjustments } from './store/validate.js';

// The limiter's public types live beside its parts (limiter/interface.ts); callers import them from here.
export type { DecisionSource, Limiter, LimiterOutcome, StoreState } from './limiter/interface.js';

/** How often the ledger drops what has left its windows. */
const SWEEP_MS = 5000;
// Tests and the docs name it here, beside the factory.
export { SETTLE_CARRY_MS } from './limiter/settle-carrier.js';

export interface LimiterOptions {
  /** The shared store (Redis); null: one process, the in-memory store is the truth. */
  shared: LimitStore | null;
  /** Connection events and the epoch marker of the shared store; required with `shared`. */
  link: StoreLink | null;
  /** The fallback's divisor: max(live instances, limits.fallbackMinInstances). */
  divisor: () => number;
  config: Config['limits'];
  logger: Logger;
  /** Lease tokens granted, used without a round trip, refunded unused (metrics). */
  onLeaseTokens?: (outcome: LeaseOutcome, tokens: number) => void;
}

/**
 * Checks dimensions against the shared store (Redis). While Redis answers, every decision is
 * Redis's: a reply that has arrived is used however late the event loop reads it (the timeout
 * counts from the write: `withReplyTimeout`). When it really fails (connection lost, no reply in
 * `storeTimeoutMs`),
 * fail-open plans are decided by the local fallback (`fallback/local-decider.ts`: this instance's
 * share of what Redis last said was remaining), fail-closed plans are refused. When Redis answers
 * again, what was admitted locally is written into the shared windows first (and, if Redis came
 * back empty, everything this instance admitted in the current windows, after a settle period
 * that lets every instance do the same), then checks return to Redis. ALGORITHM.md states the
 * bound this keeps.
 */
export function createLimiter(options: LimiterOptions): Limiter {
  const { shared, link, logger, config } = options;
  if (!shared) return createSingleProcessLimiter();
  if (!link) throw new Error('a shared limit store needs its link (connection events, epoch)');

  const ledger = createLedger();
  const storeClock = createStoreClock();
  const clock = storeClock.now;
  const decider = createLocalDecider({ clock, divisor: options.divisor, ledger });
  const timed = <T>(promise: Promise<T>) => withReplyTimeout(promise, config.storeTimeoutMs);
  // Only a store that can lease (Redis) is asked to; unused tokens are refunded as settles are.
  const leases = shared.lease
    ? createLeaseBook(config.leases, {
        refund: (refunds) => void adjust(refunds, 'shared'),
        ...(options.onLeaseTokens ? { onTokens: options.onLeaseTokens } : {}),
      })
    : null;

  const breaker = createStoreBreaker({
    link,
    clock,
    config,
    logger,
    writeBack: createWriteBack({ ledger, adjust: (adjustments) => timed(shared.adjust(adjustments)) }),
  });
  // Unused tokens are refunded (while open: dropped from the own record, so a store that comes
  // back empty gets only the used ones written back; one merely unreachable keeps them: strict).
  breaker.onOpen(() => leases?.endAll());
  breaker.onClose(() => decider.reset());
  let closed = false;
  const sweep = setInterval(() => ledger.sweep(clock()), SWEEP_MS);
  sweep.unref();
  const leaseSweep = leases ? setInterval(() => leases.sweep(), LEASE_SWEEP_MS) : null;
  leaseSweep?.unref();
  const demandSweep = leases ? setInterval(() => leases.forget(), config.leases.lifetimeMs) : null;
  demandSweep?.unref();

  /** Checks sent to the shared store and not answered yet. */
  let inFlight = 0;
  const carrier = createSettleCarrier({
    logger,
    send: async (adjustments) => {
      if (breaker.state() !== 'closed') return unsent(adjustments);
      try {
        await timed(shared.adjust(adjustments));
        settled(adjustments, clock());
      } catch (err) {
        if (err instanceof InvalidDimensionError) throw err;
        breaker.failed(err);
        unsent(adjustments);
      }
    },
  });
  /** Carried settles the store applied: the ledger's own record follows. */
  const settled = (adjustments: readonly Adjustment[], storeNow: number): void => {
    for (const adjustment of adjustments) ledger.sentAdjustment(adjustment, storeNow);
  };
  /** Carried settles whose call failed: as a failed `adjust` (additions kept for write-back, refunds dropped: strict). */
  const unsent = (adjustments: readonly Adjustment[]): void => {
    for (const adjustment of adjustments) ledger.unsentAdjustment(adjustment, { local: false });
  };

  /** A check that timed out reached Redis after all and was charged there. */
  const settleLate = (call: Promise<LimitDecision>, dims: readonly Dimension[], admittedLocally: ReturnType<typeof ledger.localAdmission> | null) => {
    call.then(
      (late) => {
        if (!late.allowed) return;
        if (admittedLocally) ledger.chargedLate(admittedLocally);
        // Refused (or closed) here but charged there, and any lease it got: give it back, best effort.
        const times = (admittedLocally ? 0 : 1) + ((late as Partial<LeaseDecision>).granted ?? 0);
        if (times === 0) return;
        const at = late.chargedAt ?? late.now;
        const refunds = dims.filter((d) => !d.checkOnly && d.amount > 0).map((d): Adjustment => ({ dimension: d, at, delta: -times * d.amount, placement: 'at' }));
        if (refunds.length > 0) timed(shared.adjust(refunds)).catch(() => {});
      },
      () => {},
    );
  };

  /**
   * What every answer of the store to a check or lease call updates: the clock offset, the carried
   * settles, and the ledger (a lease's request and reservation, all charged where the script placed them).
   */
  function recordAnswer(dims: readonly Dimension[], decision: LimitDecision, carried: readonly Adjustment[]): void {
    storeClock.measure(decision.now);
    if (carried.length > 0) settled(carried, decision.now);
    ledger.sharedDecision(dims, decision, 1 + ((decision as Partial<LeaseDecision>).granted ?? 0), decision.chargedAt ?? decision.now);
  }

  /**
   * A lease call of its own, off any request's path, while the key's lease is half used: its
   * answer waits behind the lease in use. A failure is a store failure as a check's is; a call
   * that times out but lands is given back whole (settleLate).
   */
  function renew(key: string, dims: readonly Dimension[]): void {
    const tokens = leases!.want(key);
    if (tokens === 0 || closed) return;
    const carried = carrier.take(dims);
    const sentAt = performance.now();
    const call = shared!.lease!(dims, carried, leases!.request(key, dims, tokens));
    inFlight++;
    timed(call)
      .then(
        (decision) => {
          recordAnswer(dims, decision, carried);
          leases!.granted(key, dims, decision, sentAt, true);
          // The store failed meanwhile (every lease ended then): this one ends too.
          if (breaker.state() !== 'closed') leases!.endAll();
        },
        (err: unknown) => {
          leases!.failed(key);
          if (err instanceof InvalidDimensionError) {
            carrier.queue(carried);
            logger.error({ err }, 'a lease renewal was refused as invalid');
            return;
          }
          unsent(carried);
          breaker.failed(err);
          settleLate(call, dims, null);
        },
      )
      .finally(() => inFlight--);
  }

  async function consume(dims: readonly Dimension[], onStoreFailure: 'open' | 'closed'): Promise<LimiterOutcome> {
    let late: Promise<LimitDecision> | null = null;
    if (breaker.state() === 'closed') {
      // A token of this instance's lease on these very dimensions: no round trip.
      const leaseKey = leases ? leases.keyOf(dims) : null;
      let leased = leaseKey !== null ? leases!.take(leaseKey) : null;
      if (leased) {
        if (leases!.renewalDue(leaseKey!)) renew(leaseKey!, dims);
        return { decision: leased, source: 'shared' };
      }
      // A lease call for these dimensions is out: its tokens are likely enough for this one too.
      const answered = leaseKey !== null ? leases!.inFlight(leaseKey) : null;
      if (answered) {
        await answered;
        leased = breaker.state() === 'closed' ? leases!.take(leaseKey!, true) : null;
        if (leased) return { decision: leased, source: 'shared' };
        if (breaker.state() !== 'closed') return consume(dims, onStoreFailure);
      }
      const tokens = leaseKey !== null ? leases!.want(leaseKey) : 0;
      const carried = carrier.take(dims);
      const sentAt = performance.now();
      const call = tokens > 0 ? shared!.lease!(dims, carried, leases!.request(leaseKey!, dims, tokens)) : shared!.consume(dims, carried);
      inFlight++;
      let decision: LimitDecision | null = null;
      try {
        decision = await timed(call);
      } catch (err) {
        // A bad dimension is a bug to report, not a store failure to fall back from; the
        // settles it carried were not applied and wait for the next check.
        if (err instanceof InvalidDimensionError) {
          carrier.queue(carried);
          throw err;
        }
        // It may still land (with its settles): written back twice is strict, never loose.
        unsent(carried);
        breaker.failed(err);
        late = call;
      } finally {
        inFlight--;
      }
      if (decision) {
        recordAnswer(dims, decision, carried);
        if (tokens === 0) return { decision, source: 'shared' };
        const lease = decision as LeaseDecision;
        return { decision: leases!.granted(leaseKey!, dims, lease, sentAt), source: 'shared' };
      }
      if (tokens > 0) leases!.failed(leaseKey!);
    }
    if (onStoreFailure === 'closed') {
      if (late) settleLate(late, dims, null);
      return { decision: { allowed: false, now: clock(), results: [] }, source: 'unavailable' };
    }
    const decision = await decider.consume(dims);
    const admitted = decision.allowed ? ledger.localAdmission(dims, decision.now) : null;
    if (late) settleLate(late, dims, admitted);
    if (admitted) breaker.admittedLocally();
    return { decision, source: 'local' };
  }

  /**
   * Current usage without consuming (the `usage` query): from the shared store, or while it fails
   * from the local fallback, whose counts then cover only this instance's share.
   */
  async function peek(dims: readonly Dimension[]): Promise<LimiterOutcome> {
    if (breaker.state() === 'closed') {
      // This instance's own settles are part of the usage it reports.
      const carried = carrier.take(dims);
      try {
        const decision = await timed(shared!.peek(dims, carried));
        if (carried.length > 0) settled(carried, decision.now);
        return { decision, source: 'shared' };
      } catch (err) {
        if (err instanceof InvalidDimensionError) {
          carrier.queue(carried);
          throw err;
        }
        unsent(carried);
        breaker.failed(err);
      }
    }
    return { decision: await decider.peek(dims), source: 'local' };
  }

  /**
   * Refunds and late additions (response bytes), off the response path. While Redis is healthy,
   * those of a request Redis decided wait for the next check of the same tenant to carry them (at
   * most SETTLE_CARRY_MS); others are sent at once (local charges have been written back by then).
   * Otherwise applied locally, and additions kept to be written back when Redis returns.
   */
  async function adjust(adjustments: readonly Adjustment[], source: DecisionSource): Promise<void> {
    if (adjustments.length === 0 || source === 'unavailable') return;
    if (breaker.state() === 'closed' && source === 'shared' && carrier.carrying()) {
      // A bad one is reported here, to its caller, not by the check that would carry it.
      validateAdjustments(adjustments);
      carrier.queue(adjustments);
      return;
    }
    if (breaker.state() === 'closed') {
      try {
        await timed(shared!.adjust(adjustments));
        for (const adjustment of adjustments) ledger.sentAdjustment(adjustment, clock());
        return;
      } catch (err) {
        if (err instanceof InvalidDimensionError) throw err;
        breaker.failed(err);
      }
    }
    if (source === 'local') await decider.adjust(adjustments).catch(() => {});
    for (const adjustment of adjustments) ledger.unsentAdjustment(adjustment, { local: source === 'local' });
  }

  return {
    consume,
    peek,
    adjust,
    /**
     * Before serving: learn the store's epoch, so that a later restart of Redis (empty) is told
     * apart from a stall. Without Redis now, the first recovery treats the data as lost.
     */
    start: () => breaker.start(),
    /** Checks waiting for the shared store's answer now (0 with the in-process store). */
    checksInFlight(): number {
      return inFlight;
    },
    /** Whether this instance holds a lease on some dimensions of the tenant (its next check may need no round trip). */
    holdsLease(tenantId: string): boolean {
      return leases?.holds(tenantId) ?? false;
    },
    storeState: () => breaker.state(),
    /** Sends every settle still waiting (before the connection closes), then stops the timers. */
    async close(): Promise<void> {
      // Before `closed`: refunds of unused tokens are queued as settles, which the flush below sends.
      leases?.endAll();
      closed = true;
      breaker.close();
      if (leaseSweep) clearInterval(leaseSweep);
      if (demandSweep) clearInterval(demandSweep);
      clearInterval(sweep);
      await carrier.close();
    },
  };
}
