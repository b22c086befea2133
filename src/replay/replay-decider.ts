import type { Config, PlanLimits } from '../config/schema.js';
import { buildDimensions, type LimitDimension } from '../limits/dimensions.js';
import { isUsageOnly } from '../limits/free-operations.js';
import { usageCap } from '../limits/request-charge.js';
import { createMemoryLimitStore } from '../limits/store/memory-store.js';
import type { Adjustment, LimitDecision } from '../limits/store/types.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import type { RequestRecord } from '../record/request-record.js';

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
 * The live limit decision, replayed: the same dimensions (`buildDimensions`, the usage cap, the
 * per-operation maximum) decided by the in-process twin of the limit script (`memory-store.ts`,
 * which `random-steps.test.ts` proves decides as `limiter.lua` does) on a clock set to each
 * request's recorded decision time, and the same settles (unused cost refunded where it was
 * charged, response bytes added) applied when the record says they reached the store.
 *
 * Records must be given in decision-time order (`replay-run.ts` sorts them).
 */
export function createReplayDecider(config: Config, overrides: readonly RuntimeOverride[] = []) {
  let clock = 0;
  const store = createMemoryLimitStore({ now: () => clock, maxKeys: MAX_KEYS });
  const limitsOf = effectiveLimitsCache(config, overrides);
  const keyPerIp = new Map(config.publishableKeys.map((k) => [k.id, k.perIpPerMinute]));
  /** Settles waiting for their time, per tenant, oldest first. */
  const unsettled = new Map<string, { at: number; adjustments: Adjustment[] }[]>();

  async function settleUntil(tenantId: string, t: number): Promise<void> {
    const waiting = unsettled.get(tenantId);
    if (!waiting) return;
    while (waiting.length > 0 && waiting[0]!.at <= t) {
      const due = waiting.shift()!;
      clock = due.at;
      await store.adjust(due.adjustments);
    }
    if (waiting.length === 0) unsettled.delete(tenantId);
  }

  function queueSettle(tenantId: string, at: number, adjustments: Adjustment[]): void {
    if (adjustments.length === 0) return;
    const waiting = unsettled.get(tenantId);
    if (!waiting) unsettled.set(tenantId, [{ at, adjustments }]);
    else {
      // Settles arrive nearly in order; keep the list sorted by insertion from the back.
      let i = waiting.length;
      while (i > 0 && waiting[i - 1]!.at > at) i--;
      waiting.splice(i, 0, { at, adjustments });
    }
  }

  async function decide(record: RequestRecord): Promise<ReplayedDecision> {
    const t = decisionTime(record);
    await settleUntil(record.tenantId, t);
    const effective = limitsOf(record.tenantId, record.planId, t);
    if (!effective) return { record, dims: [], decision: null, throttledBy: null, policy: null };
    const usageOnly = isUsageOnly(record.rootFields);
    const maximum = usageOnly ? config.limits.usageMaxOperationCost : effective.limits.maxOperationCost;
    if (typeof maximum === 'number' && record.estimatedCost > maximum) return { record, dims: [], decision: null, throttledBy: 'max-cost', policy: 'max-cost' };
    const chargedCost = usageOnly ? 0 : Math.ceil(record.estimatedCost);
    const perIp = keyPerIp.get(record.clientId);
    const dims = usageOnly
      ? [usageCap(record.tenantId, config.limits.usageQueriesPerMinute)]
      : buildDimensions({
          tenantId: record.tenantId,
          clientId: record.clientId,
          ip: record.ip ?? '',
          limits: effective.limits,
          timeZone: effective.timeZone,
          rootFields: record.rootFields,
          cost: chargedCost,
          now: t,
          ...(perIp !== undefined ? { keyPerIpPerMinute: perIp } : {}),
        });
    if (dims.length === 0) return { record, dims, decision: null, throttledBy: null, policy: null };
    clock = t;
    const decision = await store.consume(dims.map((d) => d.store));
    if (!decision.allowed) {
      const refused = dims[decision.results.findIndex((r) => !r.allowed)]!;
      return { record, dims, decision, throttledBy: refused.kind, policy: refused.policy };
    }
    const chargedAt = decision.chargedAt ?? decision.now;
    queueSettle(record.tenantId, settleTime(record, t), settleAdjustments(dims, decision.now, chargedAt, chargedCost, record));
    return { record, dims, decision, throttledBy: null, policy: null };
  }

  /** Applies every settle still waiting (the end of the period). */
  async function drain(): Promise<void> {
    for (const tenantId of [...unsettled.keys()]) await settleUntil(tenantId, Number.POSITIVE_INFINITY);
  }

  return { decide, drain };
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

/** As the limit gate settles (limit-gate.ts `settleAdjustments`): unused cost refunded where it was charged, response bytes added. */
function settleAdjustments(dims: LimitDimension[], now: number, chargedAt: number, chargedCost: number, record: RequestRecord): Adjustment[] {
  const adjustments: Adjustment[] = [];
  for (const dim of dims) {
    if (dim.store.kind !== 'sliding') continue;
    if (dim.kind === 'cost') {
      const actual = Math.ceil(record.actualCost);
      if (actual < chargedCost) adjustments.push({ dimension: dim.store, at: chargedAt, delta: actual - chargedCost });
    } else if (dim.kind === 'bandwidth' && record.responseBytes > 0) {
      adjustments.push({ dimension: dim.store, at: now, delta: record.responseBytes });
    }
  }
  return adjustments;
}

/**
 * A tenant's limits on a plan at `t`, as `effective-limits.ts` layers them (the plan's, the
 * tenant's `overrides`, then a runtime override while in force), on the plan the record says the
 * request was charged to (a runtime plan assignment is already in it); null for a tenant or plan
 * the config no longer has. A runtime override is known as it stands when the replay runs: in
 * force from when it was set (`setAt`) until it expires; one replaced or cleared since is not.
 */
function effectiveLimitsCache(
  config: Config,
  overrides: readonly RuntimeOverride[],
): (tenantId: string, planId: string, t: number) => { limits: PlanLimits; timeZone: string } | null {
  const cache = new Map<string, { limits: PlanLimits; timeZone: string } | null>();
  const runtime = new Map(overrides.map((o) => [o.tenantId, o]));
  return (tenantId, planId, t) => {
    const override = runtime.get(tenantId);
    const active = override && override.setAt <= t && (override.expiresAt === null || t < override.expiresAt) ? override : undefined;
    const key = `${planId}\n${tenantId}\n${active ? 'o' : ''}`;
    let hit = cache.get(key);
    if (hit !== undefined) return hit;
    const tenant = config.tenants[tenantId];
    const plan = config.plans[planId];
    if (!tenant || !plan) hit = null;
    else {
      const layers = [plan.limits, tenant.overrides, active?.limits ?? {}];
      const limits: PlanLimits = Object.assign({}, ...layers);
      const fieldLimits = Object.assign({}, ...layers.map((l) => l.fieldLimits ?? {}));
      if (Object.keys(fieldLimits).length > 0) limits.fieldLimits = fieldLimits;
      hit = { limits, timeZone: tenant.timeZone };
    }
    cache.set(key, hit);
    return hit;
  };
}
