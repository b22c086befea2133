import type { Config } from '../config/schema.js';
import { chargeKey } from '../limits/charge-key.js';
import type { LimitDimension } from '../limits/dimensions.js';
import { withoutBurst } from '../limits/limiter/hold-cap.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import { createMemoryLimitStore } from '../limits/store/memory-store.js';
import type { Adjustment, Dimension, LimitDecision } from '../limits/store/types.js';
import type { LeaseEvent } from '../record/lease-event.js';
import type { RequestRecord } from '../record/request-record.js';
import { createReplayCharges } from './replay-dimensions.js';
import { createReplayLeases } from './replay-leases.js';
import { createStoreTimeline } from './store-timeline.js';

/** What replay decided for one recorded request under the plans it replays against. */
export interface ReplayedDecision {
  record: RequestRecord;
  /** The dimensions it was checked against (empty: no limit applies, or refused before the check). */
  dims: LimitDimension[];
  /** The store's decision; null when refused before the store (over `maxOperationCost`) or no limit applied. */
  decision: LimitDecision | null;
  /** As the live record says it: the refusing dimension's kind (`requests`, `cost`, ...), `max-cost`; null: admitted. */
  throttledBy: string | null;
  /** The refusing dimension's policy (`minute`, `client-minute`, `cost-minute`, ...); `max-cost`; null: admitted. */
  policy: string | null;
}

/** Keys the replay store keeps at most: far above a week of one fleet's limit keys, so no key is evicted early (Redis evicts none). */
const MAX_KEYS = 5_000_000;

/**
 * The live limit decision, replayed: the same dimensions (replay-dimensions.ts) decided by the
 * in-process twin of the limit script (`memory-store.ts`, which `random-steps.test.ts` proves
 * decides as `limiter.lua` does) on a clock set to each request's recorded decision time; the
 * same settles (unused cost refunded where it was charged, response bytes added) and the same
 * lease grants and refunds applied where the record says the store ran them (store-timeline.ts,
 * replay-leases.ts).
 *
 * Records must be given in decision order (`replay-run.ts` sorts them), and each minute's lease
 * events (`known`) before its records. `live`: the config the record was made under, when the
 * replayed one differs from it (a proposal): a lease is granted as recorded only on dimensions the
 * proposal leaves as they were.
 */
export function createReplayDecider(config: Config, overrides: readonly RuntimeOverride[] = [], live?: Config) {
  let clock = 0;
  const setClock = (t: number) => {
    clock = t;
  };
  const store = createMemoryLimitStore({ now: () => clock, maxKeys: MAX_KEYS });
  const chargeOf = createReplayCharges(config, overrides);
  const liveChargeOf = live ? createReplayCharges(live, overrides) : null;
  const timeline = createStoreTimeline();
  const leases = createReplayLeases(store, setClock);

  /** A recorded lease event: a grant kept for its request (or a renewal), a refund waiting for its place. */
  function known(event: LeaseEvent): void {
    if (event.kind === 'settle') timeline.add(event.tenantId, event.at, event.seq, () => leases.settle(event));
    else if (event.renews !== null) timeline.add(event.tenantId, event.at, event.seq, () => leases.renew(event));
    else leases.known(event);
  }

  /** Whether the proposal leaves the request's dimensions as they were live (without one: always). */
  function unchanged(record: RequestRecord, t: number, dims: readonly Dimension[]): boolean {
    if (!liveChargeOf) return true;
    const was = liveChargeOf(record, t);
    if (was.kind !== 'checked') return false;
    const wasDims = was.dims.map((d) => (record.burstsDropped ? withoutBurst(d.store) : d.store));
    return chargeKey(wasDims) === chargeKey(dims);
  }

  /** The store's decision: from the record's lease when the replay holds it, else a check at `t`. */
  async function storeDecision(record: RequestRecord, dims: readonly Dimension[], t: number): Promise<LimitDecision> {
    const { leaseSeq, seq, tenantId } = record;
    if (leaseSeq !== undefined && seq === leaseSeq) {
      const decision = await leases.call(tenantId, seq, dims, t, unchanged(record, t, dims));
      if (decision) return decision;
    } else if (leaseSeq !== undefined) {
      const decision = leases.draw(tenantId, leaseSeq, t);
      if (decision) return decision;
    }
    clock = t;
    return store.consume(dims);
  }

  async function decide(record: RequestRecord): Promise<ReplayedDecision> {
    const t = decisionTime(record);
    await timeline.runUntil(record.tenantId, t, record.seq ?? null);
    const charge = chargeOf(record, t);
    if (charge.kind === 'over-maximum') return { record, dims: [], decision: null, throttledBy: 'max-cost', policy: 'max-cost' };
    if (charge.kind === 'free') return { record, dims: charge.dims, decision: null, throttledBy: null, policy: null };
    const { dims, chargedCost } = charge;
    // Checked live without burst zones (its instance's cap on held requests): so again.
    const stores = dims.map((d) => (record.burstsDropped ? withoutBurst(d.store) : d.store));
    const decision = await storeDecision(record, stores, t);
    if (!decision.allowed) {
      const refused = dims[decision.results.findIndex((r) => !r.allowed)]!;
      return { record, dims, decision, throttledBy: refused.kind, policy: refused.policy };
    }
    // A request of a lease that reserved response bytes settled them within it: the lease's events carry them.
    const bytesDrawn = decision.leaseSeq !== undefined && leases.drawsBytes(record.tenantId, decision.leaseSeq);
    const adjustments = settleAdjustments(dims, decision, chargedCost, record, bytesDrawn);
    if (adjustments.length > 0) {
      timeline.add(record.tenantId, settleTime(record, t), record.settledAt === undefined ? null : (record.settleSeq ?? null), async (at) => {
        clock = at;
        await store.adjust(adjustments);
      });
    }
    return { record, dims, decision, throttledBy: null, policy: null };
  }

  return { known, decide, drain: () => timeline.drain() };
}

export type ReplayDecider = ReturnType<typeof createReplayDecider>;

/** When the live store decided the request: its recorded decision time, else the time it was accepted. */
export function decisionTime(record: RequestRecord): number {
  return record.decidedAt ?? record.at;
}

/** When the request's settle reached the store: recorded, else at its decision (a settle that waited for nothing). */
function settleTime(record: RequestRecord, decidedAt: number): number {
  return record.settledAt ?? decidedAt;
}

/**
 * As the limit gate settles (limit-gate.ts `settleAdjustments`): unused cost refunded where it was
 * charged, response bytes added (not for a request whose bytes its lease's reservation took).
 */
function settleAdjustments(dims: LimitDimension[], decision: LimitDecision, chargedCost: number, record: RequestRecord, bytesDrawn: boolean): Adjustment[] {
  const adjustments: Adjustment[] = [];
  const chargedAt = decision.chargedAt ?? decision.now;
  for (const dim of dims) {
    if (dim.store.kind !== 'sliding') continue;
    if (dim.kind === 'cost') {
      const actual = Math.ceil(record.actualCost);
      if (actual < chargedCost) adjustments.push({ dimension: dim.store, at: chargedAt, delta: actual - chargedCost });
    } else if (dim.kind === 'bandwidth' && record.responseBytes > 0 && !bytesDrawn) {
      adjustments.push({ dimension: dim.store, at: decision.now, delta: record.responseBytes });
    }
  }
  return adjustments;
}
