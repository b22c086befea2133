import type { Logger } from '../../observability/logger.js';
import { withReplyTimeout } from '../../stores/reply-timeout.js';
import type { AdmissionToken, Ledger } from '../fallback/ledger.js';
import type { Adjustment, Dimension, LeaseDecision, LeaseRequest, LimitDecision, LimitStore, ShadowCheck, StoreStamp } from '../store/types.js';
import { InvalidDimensionError, validateAdjustments } from '../store/validate.js';
import { createSettleCarrier } from './settle-carrier.js';
import type { StoreBreaker } from './store-breaker.js';
import type { StoreClock } from './store-clock.js';

/** A check the store did not answer in time: it may still land there, with its charge. */
export interface LateReply {
  /**
   * Reconciles the check once it lands, given `admitted`, the local admission made in its place
   * (null: refused, or not decided locally): charged there and here, the local one is not written
   * back; charged there but refused here, or holding a lease, it is given back (best effort).
   */
  reconcile(admitted: AdmissionToken | null): void;
}

/** The store's answer to a check, or its failure (already handled: the breaker is open). */
export type Checked<D extends LimitDecision> = { ok: true; decision: D } | { ok: false; late: LateReply };

/** One check (`consume`) of the dimensions, carrying the waiting settles of their tag. */
export type CheckCall = (dims: readonly Dimension[], shadow?: ShadowCheck) => Promise<Checked<LimitDecision>>;
/** The same check asking the store to reserve `request.tokens` more for this instance (a lease). */
export type LeaseCall = (dims: readonly Dimension[], request: LeaseRequest) => Promise<Checked<LeaseDecision>>;

/**
 * Every call from the limiter to the shared store: each one timed (`storeTimeoutMs` from the write:
 * a reply already in the socket is used however late the event loop reads it), each carrying the
 * settles waiting on its tag, its answer recorded (the store clock, the ledger) and its failure
 * handled in one place (`send`).
 */
export interface SharedPath {
  check: CheckCall;
  /** Null when the store cannot lease (only Redis can: leases save round trips). */
  lease: LeaseCall | null;
  /** Usage without consuming; null when the store failed. */
  peek(dims: readonly Dimension[]): Promise<LimitDecision | null>;
  /**
   * Adjustments sent on their own: true once the store applied them; false when it failed, or at
   * once while the breaker is not closed (the caller keeps them for the fallback).
   */
  adjust(adjustments: readonly Adjustment[]): Promise<boolean>;
  /**
   * A settle of a charge the store made (a refund, response bytes, unused lease tokens): carried
   * by the next check of its tag (at most SETTLE_CARRY_MS), or sent on its own when nothing can
   * carry it; if the store does not take it, additions are kept for write-back, refunds dropped (strict).
   */
  settle(adjustments: readonly Adjustment[]): Promise<void>;
  /**
   * A settle that must not wait (a response larger than its lease's byte reservation): sent now,
   * with every settle waiting on its tag, as `settle` handles a failure.
   */
  settleNow(adjustments: readonly Adjustment[]): Promise<void>;
  /** Checks (and lease calls) sent and not answered yet. */
  checksInFlight(): number;
  /** The shadow record hash (`ShadowCheck.recordKey`), timed as every call; rejects when the store fails. */
  shadowRecord(recordKey: string): Promise<Record<string, string>>;
  /** Sends every settle still waiting. */
  close(): Promise<void>;
}

export function createSharedPath(deps: {
  store: LimitStore;
  breaker: Pick<StoreBreaker, 'state' | 'failed'>;
  /** The fallback's record of this instance's decisions: every answer updates it. */
  ledger: Ledger;
  clock: StoreClock;
  timeoutMs: number;
  logger: Logger;
  /** Told of settles the store applied, with the store call that applied them (its clock and number: call-sequence.ts). */
  onSettled?: (adjustments: readonly Adjustment[], stamp: StoreStamp) => void;
}): SharedPath {
  const { store, breaker, ledger, clock } = deps;
  const timed = <T>(call: Promise<T>) => withReplyTimeout(call, deps.timeoutMs);
  /** Settles the store applied: the ledger's own record follows. */
  const settled = (adjustments: readonly Adjustment[], stamp: StoreStamp): void => {
    for (const adjustment of adjustments) ledger.sentAdjustment(adjustment, stamp.now);
    if (adjustments.length > 0) deps.onSettled?.(adjustments, stamp);
  };
  /** Settles the store did not take: as a failed `adjust` (additions kept for write-back, refunds dropped: strict). */
  const unsent = (adjustments: readonly Adjustment[]): void => {
    for (const adjustment of adjustments) ledger.unsentAdjustment(adjustment, { local: false });
  };
  const carrier = createSettleCarrier({ send: sendAlone, logger: deps.logger });
  /** Checks (and lease calls) sent and not answered yet. */
  let inFlight = 0;

  /**
   * One store call carrying `carried`, and the one place its failure is handled. A bad dimension
   * is a caller's bug, not a store failure to fall back from: rethrown, and the settles it carried
   * (not applied) wait for the next check. Any other failure (no reply in time, the connection
   * lost) opens the breaker; the call may still land with its settles: written back twice is
   * strict, never loose.
   */
  async function send<T>(call: Promise<T>, carried: readonly Adjustment[]): Promise<{ ok: true; value: T } | { ok: false }> {
    try {
      return { ok: true, value: await timed(call) };
    } catch (err) {
      if (err instanceof InvalidDimensionError) {
        carrier.queue(carried);
        throw err;
      }
      unsent(carried);
      breaker.failed(err);
      return FAILED;
    }
  }

  /**
   * A check or lease call: what its answer updates (the clock offset, the carried settles, the
   * ledger: a lease's request and reservation, `1 + reserved` amounts, charged where the script
   * placed them), or its late reply.
   */
  async function decide<D extends LimitDecision>(
    dims: readonly Dimension[],
    carried: readonly Adjustment[],
    call: Promise<D>,
    reserved: (decision: D) => Reserved,
  ): Promise<Checked<D>> {
    inFlight++;
    let sent: { ok: true; value: D } | { ok: false };
    try {
      sent = await send(call, carried);
    } finally {
      inFlight--;
    }
    if (!sent.ok) return { ok: false, late: lateReply({ store, ledger, timed }, call, dims, reserved) };
    const decision = sent.value;
    clock.measure(decision.now);
    settled(carried, stampOf(decision));
    recordDecision(ledger, dims, decision, reserved(decision));
    return { ok: true, decision };
  }

  async function adjust(adjustments: readonly Adjustment[]): Promise<boolean> {
    if (breaker.state() !== 'closed') return false;
    const sent = await send(store.adjust(adjustments), NO_SETTLES);
    if (sent.ok && sent.value) settled(adjustments, sent.value);
    return sent.ok;
  }

  /** Settles no check carried (or that nothing can carry), sent on their own. */
  async function sendAlone(adjustments: readonly Adjustment[]): Promise<void> {
    if (!(await adjust(adjustments))) unsent(adjustments);
  }

  const storeLease = store.lease?.bind(store);
  return {
    check(dims, shadow) {
      // The shadow's keys share the tenant's hash tag: settles of its counters ride here too.
      const carried = carrier.take(dims);
      return decide(dims, carried, store.consume(dims, carried, shadow), NOTHING_RESERVED);
    },
    lease: storeLease
      ? (dims, request) => {
          const carried = carrier.take(dims);
          return decide(dims, carried, storeLease(dims, carried, request), leaseReserved(request));
        }
      : null,
    async peek(dims) {
      // This instance's own settles are part of the usage it reports.
      const carried = carrier.take(dims);
      const sent = await send(store.peek(dims, carried), carried);
      if (!sent.ok) return null;
      settled(carried, stampOf(sent.value));
      return sent.value;
    },
    adjust,
    async settle(adjustments) {
      if (breaker.state() === 'closed' && carrier.carrying()) {
        // A bad one is reported here, to its caller, not by the check that would carry it.
        validateAdjustments(adjustments);
        carrier.queue(adjustments);
        return;
      }
      await sendAlone(adjustments);
    },
    async settleNow(adjustments) {
      validateAdjustments(adjustments);
      // The tag's waiting settles go with it (the ended lease's refund among them): one call.
      const waiting = breaker.state() === 'closed' && adjustments[0] ? carrier.take([adjustments[0].dimension]) : NO_SETTLES;
      if (waiting.length + adjustments.length > 0) await sendAlone([...waiting, ...adjustments]);
    },
    checksInFlight: () => inFlight,
    shadowRecord: async (recordKey) => (store.shadowRecord ? timed(store.shadowRecord(recordKey)) : {}),
    close: () => carrier.close(),
  };
}

/**
 * A check that timed out: once it lands, what it charged there is reconciled with what was decided
 * here in its place (see `LateReply`).
 */
function lateReply<D extends LimitDecision>(
  deps: { store: LimitStore; ledger: Ledger; timed: <T>(call: Promise<T>) => Promise<T> },
  call: Promise<D>,
  dims: readonly Dimension[],
  reserved: (decision: D) => Reserved,
): LateReply {
  return {
    reconcile(admitted) {
      call.then(
        (late) => {
          if (!late.allowed) return;
          if (admitted) deps.ledger.chargedLate(admitted);
          // Refused (or closed) here but charged there, and any lease it got: give it back, best effort.
          const { times: leased, bytes } = reserved(late);
          const times = (admitted ? 0 : 1) + leased;
          if (times === 0 && bytes === 0) return;
          const at = late.chargedAt ?? late.now;
          const refunds = dims
            .filter((d) => !d.checkOnly && d.amount > 0 && times > 0)
            .map((d): Adjustment => ({ dimension: d, at, delta: -times * d.amount, placement: 'at' }));
          // Its byte reservation too: no request drew on it.
          if (bytes > 0) for (const charge of byteCharges(dims, at, bytes)) refunds.push({ ...charge, delta: -bytes });
          if (refunds.length > 0) deps.timed(deps.store.adjust(refunds)).catch(() => {});
        },
        () => {},
      );
    },
  };
}

/**
 * A decision of the store in the ledger: the request's and a lease's reserved amounts charged where
 * it placed them, and a lease's byte reservation as the instance's own charge too (written back if
 * Redis comes back empty).
 */
function recordDecision(ledger: Ledger, dims: readonly Dimension[], decision: LimitDecision, { times, bytes }: Reserved): void {
  const chargedAt = decision.chargedAt ?? decision.now;
  ledger.sharedDecision(dims, decision, 1 + times, chargedAt);
  if (bytes > 0) for (const charge of byteCharges(dims, chargedAt, bytes)) ledger.sentAdjustment(charge, decision.now);
}

/** A lease's byte reservation on the check-only dimensions of `dims`, as the additions the store made. */
function byteCharges(dims: readonly Dimension[], at: number, bytes: number): Adjustment[] {
  return dims.filter((d) => d.checkOnly).map((dimension): Adjustment => ({ dimension, at, delta: bytes, placement: 'at' }));
}

/** The store call a decision came from; a store without call numbers (none today) counts as 0. */
function stampOf(decision: LimitDecision): StoreStamp {
  return { now: decision.now, seq: decision.seq ?? 0 };
}

const FAILED = { ok: false } as const;
const NO_SETTLES: readonly Adjustment[] = [];
/** What a call reserved beyond the request's own charge: `times` more of its amounts, `bytes` on each check-only dimension. */
interface Reserved {
  times: number;
  bytes: number;
}

/** A plain check reserves nothing beyond the request's own amounts. */
const NONE_RESERVED: Reserved = { times: 0, bytes: 0 };
const NOTHING_RESERVED = (): Reserved => NONE_RESERVED;

/** A lease call's reservation: its tokens, and when granted, bytesPerRequest for the request and each token. */
function leaseReserved(request: LeaseRequest): (decision: LeaseDecision) => Reserved {
  const perRequest = request.bytesPerRequest ?? 0;
  return (decision) => ({ times: decision.granted, bytes: decision.granted > 0 ? (1 + decision.granted) * perRequest : 0 });
}
