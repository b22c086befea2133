import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { withReplyTimeout } from '../stores/reply-timeout.js';
import { createLedger } from './fallback/ledger.js';
import { createLocalDecider } from './fallback/local-decider.js';
import type { StoreLink } from './fallback/redis-link.js';
import { createWriteBack } from './fallback/write-back.js';
import type { DecisionSource, Limiter, LimiterOutcome, StoreState } from './limiter/interface.js';
import { createStoreBreaker } from './limiter/store-breaker.js';
import { createSharedPath, type LateReply } from './limiter/shared-path.js';
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
        refund: (refunds) => void path.settle(refunds),
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

  const path = createSharedPath({ store: shared, breaker, ledger, clock: storeClock, timeoutMs: config.storeTimeoutMs, logger });

  /**
   * A lease call of its own, off any request's path, while the key's lease is half used: its
   * answer waits behind the lease in use. A failure is a store failure as a check's is; a call
   * that times out but lands is given back whole.
   */
  function renew(key: string, dims: readonly Dimension[]): void {
    const tokens = leases!.want(key);
    if (tokens === 0 || closed) return;
    const sentAt = performance.now();
    path.lease!(dims, leases!.request(key, dims, tokens)).then(
      (answer) => {
        if (!answer.ok) {
          leases!.failed(key);
          answer.late.reconcile(null);
          return;
        }
        leases!.granted(key, dims, answer.decision, sentAt, true);
        // The store failed meanwhile (every lease ended then): this one ends too.
        if (breaker.state() !== 'closed') leases!.endAll();
      },
      (err: unknown) => {
        leases!.failed(key);
        logger.error({ err }, 'a lease renewal was refused as invalid');
      },
    );
  }

  async function consume(dims: readonly Dimension[], onStoreFailure: 'open' | 'closed'): Promise<LimiterOutcome> {
    let late: LateReply | null = null;
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
      if (tokens === 0) {
        const answer = await path.check(dims);
        if (answer.ok) return { decision: answer.decision, source: 'shared' };
        late = answer.late;
      } else {
        const sentAt = performance.now();
        const answer = await path.lease!(dims, leases!.request(leaseKey!, dims, tokens)).catch((err: unknown) => {
          leases!.failed(leaseKey!);
          throw err;
        });
        if (answer.ok) return { decision: leases!.granted(leaseKey!, dims, answer.decision, sentAt), source: 'shared' };
        leases!.failed(leaseKey!);
        late = answer.late;
      }
    }
    if (onStoreFailure === 'closed') {
      late?.reconcile(null);
      return { decision: { allowed: false, now: clock(), results: [] }, source: 'unavailable' };
    }
    const decision = await decider.consume(dims);
    const admitted = decision.allowed ? ledger.localAdmission(dims, decision.now) : null;
    late?.reconcile(admitted);
    if (admitted) breaker.admittedLocally();
    return { decision, source: 'local' };
  }

  async function peek(dims: readonly Dimension[]): Promise<LimiterOutcome> {
    if (breaker.state() === 'closed') {
      const decision = await path.peek(dims);
      if (decision) return { decision, source: 'shared' };
    }
    return { decision: await decider.peek(dims), source: 'local' };
  }

  /**
   * Settles of a shared decision go through the shared path (carried by the next check of the
   * tenant). Those of a local decision are sent at once while the store answers (local charges
   * have been written back by then); otherwise applied locally, additions kept for write-back.
   */
  async function adjust(adjustments: readonly Adjustment[], source: DecisionSource): Promise<void> {
    if (adjustments.length === 0 || source === 'unavailable') return;
    if (source === 'shared') return path.settle(adjustments);
    if (await path.adjust(adjustments)) return;
    await decider.adjust(adjustments).catch(() => {});
    for (const adjustment of adjustments) ledger.unsentAdjustment(adjustment, { local: true });
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
    checksInFlight: () => path.checksInFlight(),
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
      await path.close();
    },
  };
}
