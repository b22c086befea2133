/**
 * What a lease did in the limit store (ALGORITHM.md, "Leases"), kept in the request record beside
 * the requests: a replay reserves what the store reserved and refunds what it refunded, in the
 * order the store ran them (`seq`: store/call-sequence.ts), and serves the lease's requests from
 * the reservation instead of charging each (src/replay/REPLAY.md). Recorded only with a shared
 * limit store (one process leases nothing).
 */
export type LeaseEvent = LeaseGrantEvent | LeaseSettleEvent;

/** A lease granted: the store reserved `granted` more of its request's amounts, charged at `chargedAt`. */
export interface LeaseGrantEvent {
  kind: 'grant';
  tenantId: string;
  /** Store clock of the lease call, epoch ms. */
  at: number;
  /** The lease call's number among the tenant's store calls: the lease's name (`RequestRecord.leaseSeq`). */
  seq: number;
  /** Where the whole charge was placed (store clock): the lease's end. */
  chargedAt: number;
  /** Amounts reserved beyond the call's own request (a renewal's own amount is one more token). */
  granted: number;
  /** Response bytes reserved per request on a byte budget (0: none). */
  bytesPerRequest: number;
  /**
   * A renewal (a lease call without a request of its own, sent without burst zones): the lease in
   * use when it was asked for, whose dimensions it has. Null: a request's own lease call (the
   * request's record has `seq` = `leaseSeq` = this `seq`, and its dimensions).
   */
  renews: number | null;
}

/** Adjustments of a lease's charge that one store call (`seq`, at `at`) applied. */
export interface LeaseSettleEvent {
  kind: 'settle';
  tenantId: string;
  /** Store clock of the call that applied them, epoch ms. */
  at: number;
  /** That call's number among the tenant's store calls. */
  seq: number;
  /** The lease (`LeaseGrantEvent.seq`). */
  lease: number;
  /** Unused tokens refunded: that many of the request's amounts, where the lease was charged. */
  tokens: number;
  /** Reserved response bytes refunded where the lease was charged (on each byte budget). */
  bytesRefunded: number;
  /** Response bytes added at the call's time: a response larger than what its draw and the reservation held. */
  bytesAdded: number;
}
