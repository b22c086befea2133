import type { LeaseGranted, LeaseTrail } from '../limits/limiter/lease-trail.js';
import type { Adjustment, StoreStamp } from '../limits/store/types.js';
import type { LeaseEvent } from './lease-event.js';

/** Whose lease an adjustment is. */
interface LeaseOf {
  tenantId: string;
  lease: number;
}

/**
 * The request record's lease events (lease-event.ts), from the limiter's lease book (`LeaseTrail`):
 * each grant at once, and each adjustment of a lease's charge once the store applied it (the
 * limiter's `onSettled`, as settle-stamps.ts learns it for requests), with the call that applied
 * it. An adjustment the store never took (it failed meanwhile) is never recorded: nor was it applied.
 */
export function createLeaseEvents(record: (event: LeaseEvent) => void): LeaseTrail & {
  /** The limiter's `onSettled`: the store call `stamp` applied these. */
  settled(adjustments: readonly Adjustment[], stamp: StoreStamp): void;
} {
  const leaseOf = new WeakMap<Adjustment, LeaseOf>();
  return {
    granted(lease: LeaseGranted) {
      const { tag, seq, now, chargedAt, granted, bytesPerRequest, renews } = lease;
      record({ kind: 'grant', tenantId: tag, at: now, seq, chargedAt, granted, bytesPerRequest, renews });
    },
    adjusted(tag, seq, adjustments) {
      const owner = { tenantId: tag, lease: seq };
      for (const adjustment of adjustments) leaseOf.set(adjustment, owner);
    },
    settled(adjustments, stamp) {
      // One event per lease the call adjusted (a call may carry refunds of several).
      let events: Map<LeaseOf, Adjustment[]> | null = null;
      for (const adjustment of adjustments) {
        const owner = leaseOf.get(adjustment);
        if (!owner) continue;
        leaseOf.delete(adjustment);
        events ??= new Map();
        const list = events.get(owner);
        if (list) list.push(adjustment);
        else events.set(owner, [adjustment]);
      }
      if (!events) return;
      for (const [owner, list] of events) record({ kind: 'settle', ...owner, at: stamp.now, seq: stamp.seq, ...amountsOf(list) });
    },
  };
}

/**
 * What a lease's adjustments come to, counted on one dimension of each sort (every charged
 * dimension is refunded the same tokens, every byte budget the same bytes): unused tokens (the
 * first charged dimension's refund over its amount), reserved bytes refunded, bytes added.
 */
function amountsOf(adjustments: readonly Adjustment[]): { tokens: number; bytesRefunded: number; bytesAdded: number } {
  let tokens = 0;
  let bytesRefunded = 0;
  let bytesAdded = 0;
  const charged = adjustments.find((a) => !a.dimension.checkOnly && a.dimension.amount > 0)?.dimension.key;
  const bytes = adjustments.find((a) => a.dimension.checkOnly)?.dimension.key;
  for (const { dimension, delta } of adjustments) {
    if (dimension.key === charged) tokens += -delta / dimension.amount;
    else if (dimension.key === bytes) {
      if (delta < 0) bytesRefunded += -delta;
      else bytesAdded += delta;
    }
  }
  return { tokens, bytesRefunded, bytesAdded };
}
