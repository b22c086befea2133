import { withoutBurst } from '../limiter/hold-cap.js';
import { createMemoryLimitStore } from '../store/memory-store.js';
import type { Adjustment, Dimension, LimitDecision } from '../store/types.js';
import type { Ledger } from './ledger.js';

/**
 * Decisions while the shared store is unreachable. Each instance enforces, per key, its share of
 * what the store last said was *remaining* in the current window, and its share of the limit in
 * any window after that:
 *
 *   share = floor(limit / D), D = max(live instances, limits.fallbackMinInstances)
 *   in the window of the last shared verdict (used u at time a): floor((limit - u) / D)
 *
 * The second is enforced by charging share - floor((limit - u) / D) into the local window at a,
 * the first time a key is decided locally in an outage: it ages out one window after a, like the
 * admissions it stands for. `reset()` starts afresh for the next outage. The bound this gives
 * is derived in src/limits/store/ALGORITHM.md.
 */
export function createLocalDecider(options: { clock: () => number; divisor: () => number; ledger: Ledger }) {
  const { clock, ledger } = options;
  let store = createMemoryLimitStore({ now: clock });
  let seeded = new Set<string>();
  // Fixed for an outage: the seeds and the shares must use the same divisor, and the live count
  // read during an outage (from a Redis that answers again) is the least reliable one.
  let episodeDivisor: number | null = null;
  const divisorNow = () => (episodeDivisor ??= Math.max(1, options.divisor()));

  // No hold while the store is away (its burst zone dropped): a hold reserves a slot the fleet
  // must see, and local decisions are already the loosest part of the bound.
  const shareOf = (dimension: Dimension, divisor: number): Dimension => ({ ...withoutBurst(dimension), limit: Math.floor(dimension.limit / divisor) });

  /** The local windows of keys first seen in this outage, seeded from the store's last verdicts. */
  const seed = async (dims: readonly Dimension[], divisor: number): Promise<void> => {
    const now = clock();
    const seeds: Adjustment[] = [];
    for (const dimension of dims) {
      if (seeded.has(dimension.key)) continue;
      seeded.add(dimension.key);
      const known = ledger.knowledge(dimension, now);
      if (known === undefined) continue;
      const share = Math.floor(dimension.limit / divisor);
      const remainingShare = Math.floor(Math.max(0, dimension.limit - known.used) / divisor);
      if (share > remainingShare) seeds.push({ dimension, at: known.at, delta: share - remainingShare, placement: 'at' });
    }
    if (seeds.length > 0) await store.adjust(seeds);
  };

  return {
    async consume(dims: readonly Dimension[]): Promise<LimitDecision> {
      const divisor = divisorNow();
      await seed(dims, divisor);
      return store.consume(dims.map((d) => shareOf(d, divisor)));
    },
    async peek(dims: readonly Dimension[]): Promise<LimitDecision> {
      const divisor = divisorNow();
      await seed(dims, divisor);
      return store.peek(dims.map((d) => shareOf(d, divisor)));
    },
    adjust: (adjustments: readonly Adjustment[]) => store.adjust(adjustments),
    /** The store is back: the next outage starts from its verdicts then, not from these windows. */
    reset(): void {
      store = createMemoryLimitStore({ now: clock });
      seeded = new Set();
      episodeDivisor = null;
    },
  };
}

export type LocalDecider = ReturnType<typeof createLocalDecider>;
