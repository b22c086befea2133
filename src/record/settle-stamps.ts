import type { Adjustment, StoreStamp } from '../limits/store/types.js';
import type { RequestRecord } from './request-record.js';

/**
 * Longest a record waits for its settle to reach the store before it is written without
 * `settledAt`, ms: past the carry (`SETTLE_CARRY_MS`, 1 s) and a store timeout with room to spare.
 * A settle that never lands (the store away) leaves the record without it; replay then settles at
 * the decision.
 */
export const SETTLE_WAIT_MS = 5000;

/**
 * Stamps each record with the store time its settle (unused cost refunded, response bytes added)
 * reached the store, and the number of the store call that applied it (store/call-sequence.ts):
 * the limiter reports the settles the store applied (`onSettled`), and the
 * settle's adjustment objects lead back to the record they belong to. A settle waits for the
 * tenant's next check to carry it (up to 1 s), so a window's edge may see it before or after other
 * requests: replay needs the exact moment to decide as live did.
 */
export function createSettleStamps() {
  const recordOf = new WeakMap<Adjustment, RequestRecord>();
  /** Records whose settle has not landed yet, with when they started waiting (local ms). */
  const waiting = new Map<RequestRecord, number>();

  return {
    /** The record waits for `adjustments` (none: nothing to wait for). */
    expect(record: RequestRecord, adjustments: readonly Adjustment[]): void {
      if (adjustments.length === 0) return;
      for (const adjustment of adjustments) recordOf.set(adjustment, record);
      waiting.set(record, Date.now());
    },
    /** The limiter's `onSettled`: the store call `stamp` applied these. */
    settled(adjustments: readonly Adjustment[], stamp: StoreStamp): void {
      for (const adjustment of adjustments) {
        const record = recordOf.get(adjustment);
        if (!record) continue;
        recordOf.delete(adjustment);
        if (!waiting.delete(record)) continue;
        record.settledAt = stamp.now;
        record.settleSeq = stamp.seq;
      }
    },
    /** Whether the recorder should keep the record back for now: its settle is expected and has not waited `SETTLE_WAIT_MS`. */
    pending(record: RequestRecord, now: number): boolean {
      const since = waiting.get(record);
      if (since === undefined) return false;
      if (now - since < SETTLE_WAIT_MS) return true;
      waiting.delete(record);
      return false;
    },
  };
}

export type SettleStamps = ReturnType<typeof createSettleStamps>;
