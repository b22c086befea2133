import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { withReplyTimeout } from '../stores/reply-timeout.js';
import { createLedger } from './fallback/ledger.js';
import { createLocalFallback } from './fallback/local-fallback.js';
import type { StoreLink } from './fallback/redis-link.js';
import { createWriteBack } from './fallback/write-back.js';
import type { Limiter } from './limiter/interface.js';
import type { LeaseOutcome } from './limiter/lease-book.js';
import { withHoldCap } from './limiter/hold-cap.js';
import { createLeasingDecider } from './limiter/leasing-decider.js';
import { createPlainDecider } from './limiter/shared-decider.js';
import { createSharedLimiter } from './limiter/shared-limiter.js';
import { createSharedPath } from './limiter/shared-path.js';
import { createSingleProcessLimiter } from './limiter/single-process.js';
import { createStoreBreaker } from './limiter/store-breaker.js';
import { createStoreClock } from './limiter/store-clock.js';
import type { LeaseTrail } from './limiter/lease-trail.js';
import type { Adjustment, LimitStore, StoreStamp } from './store/types.js';

// The limiter's public names, declared beside its parts (limiter/), imported from here by callers.
export type { DecisionSource, Limiter, LimiterOutcome, StoreState } from './limiter/interface.js';
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
  /** Settles the shared store applied, with the call that applied them (the request record's `settledAt`, `settleSeq`). */
  onSettled?: (adjustments: readonly Adjustment[], stamp: StoreStamp) => void;
  /** Leases granted and their adjustments (the request record's lease events). */
  leaseTrail?: LeaseTrail;
}

/**
 * The limiter: without a shared store, one process whose in-memory store is the truth
 * (`limiter/single-process.ts`); with one, the shared limiter (`limiter/shared-limiter.ts`) wired
 * from its parts here, each in its own file under `limiter/` and `fallback/`:
 *
 * - `store-breaker.ts`: the store's outage state machine (closed, open, half-open), recovery;
 * - `shared-path.ts`: every call to the store, its errors handled in one place, carried settles;
 * - `leasing-decider.ts`: the lease protocol (`shared-decider.ts` without leases);
 * - `fallback/local-fallback.ts`: decisions while the store is away, kept in the ledger;
 * - `fallback/write-back.ts`: those admissions written back when it returns.
 */
export function createLimiter(options: LimiterOptions): Limiter {
  const { shared: store, link, config, logger } = options;
  // Held requests (graduated throttling) are bounded per instance, whichever limiter decides.
  if (!store) return withHoldCap(createSingleProcessLimiter(), config.maxHeldRequests);
  if (!link) throw new Error('a shared limit store needs its link (connection events, epoch)');

  const clock = createStoreClock();
  // What this instance decided and admitted, per key: the fallback's shares and write-backs.
  const ledger = createLedger();
  const writeBack = createWriteBack({
    ledger,
    adjust: async (adjustments) => {
      await withReplyTimeout(store.adjust(adjustments), config.storeTimeoutMs);
    },
  });
  const fallback = createLocalFallback({ clock: clock.now, divisor: options.divisor, ledger, writeBack });
  const breaker = createStoreBreaker({ link, writeBack, clock: clock.now, config, logger });
  const path = createSharedPath({
    store,
    breaker,
    ledger,
    clock,
    timeoutMs: config.storeTimeoutMs,
    logger,
    ...(options.onSettled ? { onSettled: options.onSettled } : {}),
  });
  // Only a store that can lease (Redis) is asked to; unused tokens are refunded as settles are.
  const decider =
    path.lease && config.leases.enabled
      ? createLeasingDecider({
          config: config.leases,
          check: path.check,
          lease: path.lease,
          storeUp: () => breaker.state() === 'closed',
          refund: (refunds) => void path.settle(refunds),
          ...(options.onLeaseTokens ? { onTokens: options.onLeaseTokens } : {}),
          ...(options.leaseTrail ? { trail: options.leaseTrail } : {}),
          logger,
        })
      : createPlainDecider(path.check);
  // Every lease ends when the store fails: unused tokens are refunded (while open: dropped from the
  // own record, so a store that comes back empty gets only the used ones written back; one merely
  // unreachable keeps them: strict).
  breaker.onOpen(() => decider.endAll());
  breaker.onClose(() => fallback.reset());
  return withHoldCap(createSharedLimiter({ breaker, decider, path, fallback, clock }), config.maxHeldRequests);
}
