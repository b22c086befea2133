import type { Adjustment, ByteDraw, Dimension, LimitDecision, ShadowCheck } from '../store/types.js';

/** Where a decision came from; `local` means the shared store was unreachable. */
export type DecisionSource = 'shared' | 'local' | 'unavailable';

export interface LimiterOutcome {
  decision: LimitDecision;
  source: DecisionSource;
  /**
   * Checked without its burst zones: this instance held as many requests as it may (hold-cap.ts),
   * so what did not fit was refused rather than held. The request record keeps it for replay.
   */
  burstsDropped?: true;
}

/**
 * The shared store's state as this instance sees it: `closed` (healthy: every check goes to
 * Redis), `open` (failed: checks are decided locally, Redis is probed), `half-open` (it answers
 * again: local admissions are being written back before checks return to it). The metric
 * `redis_breaker_state` and `/healthz` report these names.
 */
export type StoreState = 'closed' | 'open' | 'half-open';

/**
 * What the gateway asks of its limits: the shared implementation (`shared-limiter.ts`, Redis with
 * the local fallback) and the single-process one (`single-process.ts`, the in-memory store) keep
 * the same semantics. "Over the limit" is a decision, never an exception; only an invalid
 * dimension or adjustment (a caller's bug, `InvalidDimensionError`) rejects.
 */
export interface Limiter {
  /**
   * Checks every dimension and charges all of them only if all allow (ALGORITHM.md). While the
   * shared store cannot decide, `onStoreFailure` says what the plan wants: `open`, decided by this
   * instance's share (`source: 'local'`); `closed`, refused (`source: 'unavailable'`, no results).
   *
   * `shadow`: a shadow group decided in the same store call (`decision.shadow`: src/shadow/SHADOW.md).
   * Such a check is never served from a lease (the shadow must see every request) and never sent
   * early; while the store cannot decide, the shadow is not evaluated (no `decision.shadow`).
   */
  consume(dims: readonly Dimension[], onStoreFailure: 'open' | 'closed', shadow?: ShadowCheck): Promise<LimiterOutcome>;
  /**
   * Current usage without consuming (the `usage` query): from the shared store, or while it fails
   * from the local fallback, whose counts then cover only this instance's share.
   */
  peek(dims: readonly Dimension[]): Promise<LimiterOutcome>;
  /**
   * Refunds and late additions (response bytes) of a request decided by `source`, off the response
   * path: those of a shared decision ride on the next check of the tenant (at most
   * `SETTLE_CARRY_MS`); nothing for `unavailable` (nothing was charged). `draw`: the decision's
   * (a request served from a lease that reserved its response bytes): its response bytes, the
   * positive adjustments of check-only dimensions, are settled against it instead.
   */
  adjust(adjustments: readonly Adjustment[], source: DecisionSource, draw?: ByteDraw): Promise<void>;
  /**
   * Before serving: learn the store's epoch, so that a later restart of Redis (empty) is told
   * apart from a stall. Without Redis now, the first recovery treats the data as lost.
   */
  start(): Promise<void>;
  /** Checks waiting for the shared store's answer now (0 with the in-process store). */
  checksInFlight(): number;
  /** Whether this instance holds a lease on some dimensions of the tenant (its next check may need no round trip). */
  holdsLease(tenantId: string): boolean;
  /** The shared store's state (`closed` with the in-process store). */
  storeState(): StoreState;
  /**
   * The shadow refusals counted in `recordKey` (the fields of `ShadowCheck.recordKey`), from the
   * store that decides (Redis, or the in-process store); rejects when Redis cannot be read.
   */
  shadowRecord(recordKey: string): Promise<Record<string, string>>;
  /** Sends every settle still waiting (before the connection closes), then stops the timers. */
  close(): Promise<void>;
}
