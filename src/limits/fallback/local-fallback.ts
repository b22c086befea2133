import type { Adjustment, Dimension, LimitDecision } from '../store/types.js';
import type { AdmissionToken, Ledger } from './ledger.js';
import { createLocalDecider } from './local-decider.js';
import type { WriteBack } from './write-back.js';

/** How often the ledger drops what has left its windows (ms). */
const SWEEP_MS = 5000;

/**
 * The limiter's side of the fallback while the shared store is away: decisions by this instance's
 * share (`local-decider.ts`), each kept in the ledger (`ledger.ts`) so that it is written back
 * when the store returns (`write-back.ts`). The bound this keeps is in ALGORITHM.md.
 */
export interface LocalFallback {
  /**
   * Decides by this instance's share; an admission is recorded (`admitted`, else null) and written
   * back when the store returns (at once in the settle period that follows).
   */
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
  /** Told of each admission: written back at once in the settle period after an outage. */
  writeBack: Pick<WriteBack, 'admitted'>;
}): LocalFallback {
  const { clock, ledger } = deps;
  const decider = createLocalDecider({ clock, divisor: deps.divisor, ledger });
  const sweep = setInterval(() => ledger.sweep(clock()), SWEEP_MS);
  sweep.unref();
  return {
    async consume(dims) {
      const decision = await decider.consume(dims);
      if (!decision.allowed) return { decision, admitted: null };
      const admitted = ledger.localAdmission(dims, decision.now);
      deps.writeBack.admitted();
      return { decision, admitted };
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
