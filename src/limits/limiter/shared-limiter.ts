import type { LocalFallback } from '../fallback/local-fallback.js';
import type { Adjustment, ByteDraw } from '../store/types.js';
import type { Limiter } from './interface.js';
import type { SharedDecider } from './shared-decider.js';
import type { LateReply, SharedPath } from './shared-path.js';
import type { StoreBreaker } from './store-breaker.js';
import type { StoreClock } from './store-clock.js';

/** The parts the shared limiter routes between; `createLimiter` (limiter.ts) wires them. */
export interface SharedLimiterParts {
  /** Whether the store decides now (closed) or the fallback does (open, half-open). */
  breaker: StoreBreaker;
  /** Decides through the store, from a lease when one is held. */
  decider: SharedDecider;
  /** Every other call to the store: peeks, settles, adjustments. */
  path: SharedPath;
  /** Decides while the store is away, and keeps what it admits for write-back. */
  fallback: LocalFallback;
  clock: StoreClock;
}

/**
 * Checks dimensions against the shared store (Redis). While Redis answers (breaker closed), every
 * decision is Redis's: a reply that has arrived is used however late the event loop reads it (the
 * timeout counts from the write: `withReplyTimeout`). When it really fails (connection lost, no
 * reply in `storeTimeoutMs`), fail-open plans are decided by the local fallback (this instance's
 * share of what Redis last said was remaining), fail-closed plans are refused. When Redis answers
 * again, what was admitted locally is written into the shared windows first (and, if Redis came
 * back empty, everything this instance admitted in the current windows, after a settle period
 * that lets every instance do the same), then checks return to Redis (`store-breaker.ts`).
 * ALGORITHM.md states the bound this keeps.
 */
export function createSharedLimiter(parts: SharedLimiterParts): Limiter {
  const { breaker, decider, path, fallback, clock } = parts;

  /**
   * A shared decision's settle. Its response bytes (positive adjustments of check-only dimensions)
   * size later leases' byte reservations; a leased request's are settled against its draw instead
   * (nothing to send while they fit; larger, they go at once).
   */
  function settleShared(adjustments: readonly Adjustment[], draw: ByteDraw | undefined): Promise<void> {
    let bytes: Adjustment | undefined;
    for (const adjustment of adjustments) {
      if (!adjustment.dimension.checkOnly || adjustment.delta <= 0) continue;
      decider.responded(adjustment.dimension.key, adjustment.delta);
      bytes ??= adjustment;
    }
    if (draw === undefined) return path.settle(adjustments);
    const settled = decider.settle(draw, bytes?.delta ?? 0, bytes?.at ?? clock.now());
    const rest = adjustments.filter((adjustment) => !(adjustment.dimension.checkOnly && adjustment.delta > 0));
    if (settled.overflow) return Promise.all([path.settle(rest), path.settleNow(settled.adjustments)]).then(() => {});
    const all = settled.adjustments.length > 0 ? [...rest, ...settled.adjustments] : rest;
    return all.length > 0 ? path.settle(all) : Promise.resolve();
  }
  return {
    async consume(dims, onStoreFailure, shadow) {
      let late: LateReply | null = null;
      if (breaker.state() === 'closed') {
        const outcome = await decider.decide(dims, shadow);
        if (outcome.kind !== 'unreachable') return { decision: outcome.decision, source: 'shared' };
        late = outcome.late;
      }
      if (onStoreFailure === 'closed') {
        late?.reconcile(null);
        return { decision: { allowed: false, now: clock.now(), results: [] }, source: 'unavailable' };
      }
      const { decision, admitted } = await fallback.consume(dims);
      late?.reconcile(admitted);
      return { decision, source: 'local' };
    },

    async peek(dims) {
      if (breaker.state() === 'closed') {
        const decision = await path.peek(dims);
        if (decision) return { decision, source: 'shared' };
      }
      return { decision: await fallback.peek(dims), source: 'local' };
    },

    /**
     * Settles of a shared decision ride on the next check of the tenant (`path.settle`). Those of
     * a local decision are sent at once while the store answers (local charges have been written
     * back by then); otherwise applied locally, and additions kept to be written back.
     */
    async adjust(adjustments, source, draw) {
      if ((adjustments.length === 0 && draw === undefined) || source === 'unavailable') return;
      if (source === 'shared') return settleShared(adjustments, draw);
      if (await path.adjust(adjustments)) return;
      await fallback.unsent(adjustments);
    },

    start: () => breaker.start(),
    checksInFlight: () => path.checksInFlight(),
    holdsLease: (tenantId) => decider.holds(tenantId),
    storeState: () => breaker.state(),
    shadowRecord: (recordKey) => path.shadowRecord(recordKey),

    async close() {
      // First: refunds of unused lease tokens are queued as settles, which the path then sends.
      decider.close();
      breaker.close();
      fallback.close();
      await path.close();
    },
  };
}
