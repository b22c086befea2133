/**
 * The limiter storage engine: one atomic, all-or-nothing check of several limit dimensions.
 * The algorithm, its guarantee and its error bound are in ./ALGORITHM.md.
 */

/**
 * One limit a request is checked against.
 *
 * - `sliding`: at most `limit` in any rolling window of `windowMs`, counted in `buckets`
 *   sub-buckets (1–1000) of g = ceil(windowMs / buckets) ms.
 *   `key` is the Redis key of the dimension's hash (one field per sub-bucket).
 * - `calendar`: at most `limit` per calendar day or month in the tenant's time zone, given as a
 *   fixed `utcOffsetMinutes` (-720 to 840). `key` names the dimension's counter; the store keeps
 *   the current period id (`20261122` for a day, `202611` for a month) with the count, as the
 *   field of a hash at `key` (so that the script only touches keys it is given: see ALGORITHM.md).
 *
 * `amount`: how much this request consumes (1 for a request count, the estimated cost for cost
 * points); a non-negative integer. `checkOnly`: consume nothing; allowed iff used < limit (e.g.
 * bandwidth: bytes are only known after the response, and are added later with `adjust()`).
 * A `limit` of 0 refuses everything with `amount > 0`, and every `checkOnly` check (“no access”).
 *
 * All keys of one call must share a Redis Cluster hash tag chosen by the caller
 * (`rl:{acme}:...`), and must differ from each other.
 */
export type Dimension =
  | {
      kind: 'sliding';
      name: string;
      key: string;
      limit: number;
      windowMs: number;
      buckets: number;
      amount: number;
      checkOnly?: boolean;
      /** A burst zone (graduated throttling): see `Burst`. Absent: a request that does not fit is refused. */
      burst?: Burst;
    }
  | {
      kind: 'calendar';
      name: string;
      key: string;
      limit: number;
      period: 'day' | 'month';
      utcOffsetMinutes: number;
      amount: number;
      checkOnly?: boolean;
    };

/**
 * A sliding dimension's burst zone (ALGORITHM.md, "Graduated throttling"): a `consume` that does not
 * fit now is *held* instead of refused when what the key holds (admitted in the window and held
 * ahead) plus its amount is at most `limit + amount`, and the earliest time it fits is at most
 * `maxDelayMs` away: it is charged at that time, and admitted to run then. Not with `checkOnly`.
 */
export interface Burst {
  /** Most amount held beyond the limit at once (requests, for a request count), a positive integer. */
  amount: number;
  /** Longest hold, ms: a positive integer, at most the window. */
  maxDelayMs: number;
}

export type SlidingDimension = Extract<Dimension, { kind: 'sliding' }>;
export type CalendarDimension = Extract<Dimension, { kind: 'calendar' }>;

export interface DimensionResult {
  name: string;
  limit: number;
  /** After this request's charge when the decision admitted it; the current usage otherwise. */
  used: number;
  /** max(0, limit - used) */
  remaining: number;
  /**
   * Epoch ms (store clock). Sliding: when `used` next decreases (the oldest counted non-empty
   * sub-bucket's last charge leaves the window), or `now` when used is 0; never more than one
   * window after `now`. Calendar: the start of the next period in the dimension's UTC offset.
   */
  resetAt: number;
  /**
   * 0 when this dimension allowed. Otherwise the time until this request's amount would fit,
   * assuming no other traffic (sliding: sub-buckets expire oldest first; calendar: the next
   * period). When it can never fit (`amount > limit`, or `checkOnly` with limit 0): the window
   * length (sliding: `windowMs`; calendar: the length of the current day or month).
   */
  retryAfterMs: number;
  /** This dimension's own verdict. The request is admitted only if every dimension allowed. */
  allowed: boolean;
}

export interface LimitDecision {
  allowed: boolean;
  /** Store clock (Redis TIME, or the memory store's clock), epoch ms. */
  now: number;
  /**
   * The store call's number in its hash tag (call-sequence.ts): calls of one tenant in the order the
   * store ran them, within a millisecond too. Absent: no store call decided it (a lease token, the
   * local fallback).
   */
  seq?: number;
  /**
   * Admitted from a lease (src/limits/limiter/lease-book.ts): the `seq` of the lease call that
   * reserved it (its own request's decision has both). The request record keeps it for replay.
   */
  leaseSeq?: number;
  /**
   * Where the admitted request's charge was placed (store clock), when not at `now`: a lease
   * places its whole charge at its end. Refunds of the request go there (`Adjustment.at`).
   */
  chargedAt?: number;
  /**
   * A held request (graduated throttling): admitted to run this long after `now`, where its charge
   * was placed (`chargedAt` = now + heldMs). Absent or 0: it runs now. Every dimension's result then
   * says `allowed`, `used` counting it (so `remaining` is 0 while requests are held).
   */
  heldMs?: number;
  /** Same order as the input. */
  results: DimensionResult[];
  /**
   * A request served from a lease that reserved response bytes: what it drew of the reservation.
   * Its response bytes are settled against it (`Limiter.adjust`), not added on their own.
   */
  draw?: ByteDraw;
  /** The shadow group's verdict when the check carried one (`ShadowCheck`); never part of `allowed`. */
  shadow?: ShadowVerdict;
}

/** Response bytes a leased request drew of its lease's reservation (ALGORITHM.md, "Byte budgets in leases"). */
export interface ByteDraw {
  readonly bytes: number;
}

/**
 * Shadow limits (src/shadow/SHADOW.md): a second group of dimensions, on keys of their own under
 * the same hash tag, decided in the same call after the check's own dimensions, as a `consume` of
 * its own (all or nothing, burst zones included), whatever those decided. It never changes the
 * check's verdict or charge. A refusal is counted in the hash `recordKey`.
 */
export interface ShadowCheck {
  dimensions: readonly Dimension[];
  /** The hash where refusals are counted: fields `<subject>|<policy>|n`, `|f` (first), `|l` (latest), epoch ms. */
  recordKey: string;
  /** Who the refusal is counted for (the API key id); no `|` in it. */
  subject: string;
  /** Refused without a check, by this policy (the shadow's single-operation maximum): then `dimensions` is empty. */
  refusedBy?: string;
  /** How long the record lives after its latest refusal, ms. */
  recordTtlMs: number;
}

/** What the shadow group decided: as `LimitDecision` would have for the same dimensions checked alone. */
export interface ShadowVerdict {
  allowed: boolean;
  /** > 0: the group would have held the request this long (a burst zone): not a refusal. */
  heldMs: number;
  /** The first dimension's policy that did not fit (or `refusedBy`); null when allowed. */
  refusedBy: string | null;
  /** Same order as `ShadowCheck.dimensions`. */
  results: { name: string; used: number; allowed: boolean }[];
}

/** What a lease asks for besides the request's own check (ALGORITHM.md, "Leases"). */
export interface LeaseRequest {
  /** Most extra requests' amounts to reserve for this instance. */
  tokens: number;
  /** The lease's tokens are used within this long of the call being sent (ms). */
  lifetimeMs: number;
  /** Per mille of each limit that stays unreserved: no lease when less would be left. */
  keepPermille: number;
  /** Per mille of each limit one lease may hold, the request's own amount included. */
  sharePermille: number;
  /**
   * Bytes reserved per request (the request's own and each token's) on every check-only dimension
   * (a response-byte budget, ALGORITHM.md "Byte budgets in leases"). Absent or 0: none, and a
   * check-only dimension then gets no lease.
   */
  bytesPerRequest?: number;
}

/** A lease's decision: the request's own verdict, and `granted` more of its amounts reserved. */
export interface LeaseDecision extends LimitDecision {
  /** Extra amounts reserved (0: none, and the request was charged as by `consume`). */
  granted: number;
  /** Where the whole charge was placed: now + lifetime when granted, else now (or a hold's run time). */
  chargedAt: number;
}

export interface Adjustment {
  dimension: Dimension;
  /** The decision's `now` of the charge (store clock, epoch ms). */
  at: number;
  /** Negative = refund; positive = late addition (e.g. response bytes) or replay. An integer. */
  delta: number;
  /**
   * Where the delta goes. `at` (the default for refunds): the sub-bucket (or calendar period) that
   * `at` falls in, and nothing if that has left the window. `now` (the default for additions):
   * the current sub-bucket (or period). Replays of admissions made while the store was away use
   * `at`, so they age out when they would have had the store seen them.
   */
  placement?: 'at' | 'now';
}

/** When a store call ran: its store clock and its number in its hash tag (call-sequence.ts). */
export interface StoreStamp {
  now: number;
  seq: number;
}

export interface LimitStore {
  /**
   * Checks every dimension and consumes `amount` from all of them only if all allow.
   * A refused request consumes nothing. One Redis round trip. Throws (before any I/O) on an
   * invalid dimension; "over the limit" is a result, not an exception.
   *
   * `settle`: adjustments of earlier requests (as `adjust` takes them), applied first in the same
   * atomic step (the same script call), whatever this check decides: an instance folds each
   * request's post-response settle into its next check instead of a round trip of its own.
   */
  consume(dimensions: readonly Dimension[], settle?: readonly Adjustment[], shadow?: ShadowCheck): Promise<LimitDecision>;
  /**
   * Refunds (negative delta, applied to the sub-bucket that `at` falls in, never below 0, nothing
   * if that sub-bucket left the window), late additions (positive delta, applied to the current
   * sub-bucket, even past the limit) and replays (`placement: 'at'`). One round trip for the
   * whole list (its keys of one hash tag, as a check's), stamped with when it ran; null for an empty
   * list (nothing is sent).
   */
  adjust(adjustments: readonly Adjustment[]): Promise<StoreStamp | null>;
  /**
   * Current usage without consuming: `used` is the current usage, `allowed` says whether
   * `consume` would admit this amount now. Writes nothing but `settle` (applied first, as in
   * `consume`).
   */
  peek(dimensions: readonly Dimension[], settle?: readonly Adjustment[]): Promise<LimitDecision>;
  /**
   * `consume`, and when it admits, up to `request.tokens` more of the same amounts reserved for
   * this instance, all charged at now + `request.lifetimeMs` (the gateway leases only from Redis:
   * leases save a round trip, which one process does not make; the memory store mirrors the script
   * for the tests). `used` counts the reserved amounts, and `request.bytesPerRequest` reserved on
   * each check-only dimension.
   */
  lease?(dimensions: readonly Dimension[], settle: readonly Adjustment[], request: LeaseRequest): Promise<LeaseDecision>;
  /** The shadow refusals counted in `recordKey` (`ShadowCheck`), as the hash's fields. */
  shadowRecord?(recordKey: string): Promise<Record<string, string>>;
}

/** A store that can lease (Redis, and the memory store that mirrors its script). */
export interface LeasingLimitStore extends LimitStore {
  lease(dimensions: readonly Dimension[], settle: readonly Adjustment[], request: LeaseRequest): Promise<LeaseDecision>;
}
