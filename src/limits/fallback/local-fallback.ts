import type { Adjustment, Dimension, LimitDecision } from '../store/types.js';
import type { AdmissionToken, Ledger } from './ledger.js';
import { createLocalDecider } from './local-decider.js';

/** How often the ledger drops what has left its windows (ms). */
const SWEEP_MS = 5000;

/**
 * The limiter's side of the fallback while the shared store is away: decisions by this instance's
 * share (`local-decider.ts`), each kept in the ledger (`ledger.ts`) so that it is written back
 * when the store returns (`write-back.ts`). The bound this keeps is in ALGORITHM.md.
 */
export interface LocalFallback {
  /** Decides by this instance's share; an admission is recorded, to be written back (`admitted`, else null). */
  consume(dims: readonly Dimension[]): Promise<{ decision: LimitDecision; admitted: AdmissionToken | null }>;
  /** Usage in this instance's share of the windows. */
  peek(dims: readonly Dimension[]): Promise<LimitDecision>;
  /**
   * Settles of a locally decided request that the store did not take (it failed, or is still
   * away): applied to the local windows; additions kept for write-back, refunds shrink it.
   */
  unsent(adjustments: readonly Adjustment[]): Promise<void>;
  /** The store decides again: the next outage starts from its verdicts then, not from these windows. */
  reset(): void;
  /** Stops the ledger's sweep. */
  close(): void;
}

export function createLocalFallback(deps: {
  /** Store-clock ms: local decisions are stamped in store time. */
  clock: () => number;
  /** max(live instances, limits.fallbackMinInstances). */
  divisor: () => number;
  ledger: Ledger;
}): LocalFallback {
  const { clock, ledger } = deps;
  const decider = createLocalDecider({ clock, divisor: deps.divisor, ledger });
  const sweep = setInterval(() => ledger.sweep(clock()), SWEEP_MS);
  sweep.unref();
  return {
    async consume(dims) {
      const decision = await decider.consume(dims);
      return { decision, admitted: decision.allowed ? ledger.localAdmission(dims, decision.now) : null };
    },
    peek: (dims) => decider.peek(dims),
    async unsent(adjustments) {
      await decider.adjust(adjustments).catch(() => {});
      for (const adjustment of adjustments) ledger.unsentAdjustment(adjustment, { local: true });
    },
    reset: () => decider.reset(),
    close: () => clearInterval(sweep),
  };
}
