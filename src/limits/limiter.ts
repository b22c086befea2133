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
import type { LeaseOutcome } from './limiter/lease-book.js';
import { createLeasingDecider } from './limiter/leasing-decider.js';
import { createPlainDecider } from './limiter/shared-decider.js';
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
  const { shared: store, link, logger, config } = options;
  if (!store) return createSingleProcessLimiter();
  if (!link) throw new Error('a shared limit store needs its link (connection events, epoch)');

  const ledger = createLedger();
  const storeClock = createStoreClock();
  const clock = storeClock.now;
  const local = createLocalDecider({ clock, divisor: options.divisor, ledger });
  const timed = <T>(promise: Promise<T>) => withReplyTimeout(promise, config.storeTimeoutMs);
  const breaker = createStoreBreaker({
    link,
    clock,
    config,
    logger,
    writeBack: createWriteBack({ ledger, adjust: (adjustments) => timed(store.adjust(adjustments)) }),
  });
  // Unused tokens are refunded (while open: dropped from the own record, so a store that comes
  // back empty gets only the used ones written back; one merely unreachable keeps them: strict).
  breaker.onOpen(() => shared.endAll());
  breaker.onClose(() => local.reset());
  const sweep = setInterval(() => ledger.sweep(clock()), SWEEP_MS);
  sweep.unref();

  const path = createSharedPath({ store, breaker, ledger, clock: storeClock, timeoutMs: config.storeTimeoutMs, logger });
  // Only a store that can lease (Redis) is asked to; unused tokens are refunded as settles are.
  const shared =
    path.lease && config.leases.enabled
      ? createLeasingDecider({
          config: config.leases,
          check: path.check,
          lease: path.lease,
          storeUp: () => breaker.state() === 'closed',
          refund: (refunds) => void path.settle(refunds),
          ...(options.onLeaseTokens ? { onTokens: options.onLeaseTokens } : {}),
          logger,
        })
      : createPlainDecider(path.check);

  async function consume(dims: readonly Dimension[], onStoreFailure: 'open' | 'closed'): Promise<LimiterOutcome> {
    let late: LateReply | null = null;
    if (breaker.state() === 'closed') {
      const outcome = await shared.decide(dims);
      if (outcome.kind !== 'unreachable') return { decision: outcome.decision, source: 'shared' };
      late = outcome.late;
    }
    if (onStoreFailure === 'closed') {
      late?.reconcile(null);
      return { decision: { allowed: false, now: clock(), results: [] }, source: 'unavailable' };
    }
    const decision = await local.consume(dims);
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
    return { decision: await local.peek(dims), source: 'local' };
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
    await local.adjust(adjustments).catch(() => {});
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
    holdsLease: (tenantId) => shared.holds(tenantId),
    storeState: () => breaker.state(),
    /** Sends every settle still waiting (before the connection closes), then stops the timers. */
    async close(): Promise<void> {
      // Before `closed`: refunds of unused tokens are queued as settles, which the flush below sends.
      shared.close();
      breaker.close();
      clearInterval(sweep);
      await path.close();
    },
  };
}
