import type { Adjustment } from '../store/types.js';

/**
 * A lease as the store granted it (ALGORITHM.md, "Leases"), for the request record: a replay
 * applies the reservation where the store did, and serves the lease's requests from it rather
 * than charging each again (src/replay/REPLAY.md).
 */
export interface LeaseGranted {
  /** The hash tag of the lease's dimensions: the tenant. */
  tag: string;
  /** The lease call's number in its tag (call-sequence.ts): the lease's name for its requests and refunds. */
  seq: number;
  /** Store clock of the lease call, epoch ms. */
  now: number;
  /** Where the whole charge was placed (store clock): now + the lease's lifetime. */
  chargedAt: number;
  /** Amounts reserved beyond the call's own request (a renewal's own amount is one more token). */
  granted: number;
  /** Response bytes reserved per request on its check-only dimensions (0: none). */
  bytesPerRequest: number;
  /**
   * A renewal (a lease call with no request of its own, its burst zones dropped): the `seq` of the
   * key's lease in use when it was asked for, whose dimensions it has. Null: a request's own call.
   */
  renews: number | null;
}

/**
 * What the lease book tells the request record: each lease granted, and the adjustments it makes
 * of a lease's charge (unused tokens and reserved bytes refunded, a response larger than its draw
 * added). Whether and when the store applied an adjustment comes later, as for every settle
 * (the limiter's `onSettled`).
 */
export interface LeaseTrail {
  granted(lease: LeaseGranted): void;
  /** `adjustments` (not sent yet) belong to the lease `seq` of tag `tag`. */
  adjusted(tag: string, seq: number, adjustments: readonly Adjustment[]): void;
}
