import type { Config, PlanLimits } from '../config/schema.js';
import { buildDimensions, type LimitDimension } from '../limits/dimensions.js';
import { isUsageOnly } from '../limits/free-operations.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import { usageCap } from '../limits/request-charge.js';
import type { RequestRecord } from '../record/request-record.js';

/** How a recorded request is charged under the plans replayed: its dimensions, or why none. */
export type ReplayCharge =
  /** No limit applies (a tenant or plan the config no longer has, or a plan without limits). */
  | { kind: 'free'; dims: LimitDimension[] }
  /** Refused before the store: its estimate is over the single-operation maximum. */
  | { kind: 'over-maximum' }
  | { kind: 'checked'; dims: LimitDimension[]; chargedCost: number };

/**
 * A recorded request's dimensions at `t` under `config`, as the gateway builds them
 * (`buildDimensions`, the usage operations' own cap, the per-operation maximum), on the plan the
 * record says it was charged to, with the tenant's runtime override while in force.
 */
export function createReplayCharges(config: Config, overrides: readonly RuntimeOverride[]): (record: RequestRecord, t: number) => ReplayCharge {
  const limitsOf = effectiveLimitsCache(config, overrides);
  const keyPerIp = new Map(config.publishableKeys.map((k) => [k.id, k.perIpPerMinute]));
  return (record, t) => {
    const effective = limitsOf(record.tenantId, record.planId, t);
    if (!effective) return { kind: 'free', dims: [] };
    const usageOnly = isUsageOnly(record.rootFields);
    const maximum = usageOnly ? config.limits.usageMaxOperationCost : effective.limits.maxOperationCost;
    if (typeof maximum === 'number' && record.estimatedCost > maximum) return { kind: 'over-maximum' };
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
    return dims.length === 0 ? { kind: 'free', dims } : { kind: 'checked', dims, chargedCost };
  };
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
