import type { Config, PlanLimits } from '../config/schema.js';
import { planInForce } from '../billing/plan-in-force.js';
import type { RuntimeOverride } from './overrides.js';

/** The limits in force for one tenant right now, after every layer of configuration. */
export interface EffectiveLimits {
  planId: string;
  planName: string;
  limits: PlanLimits;
  timeZone: string;
  onStoreFailure: 'open' | 'closed';
}

/** The last result per config object and tenant: a config reload is a new object, so it starts empty. */
const memo = new WeakMap<Config, Map<string, { active: RuntimeOverride | undefined; planId: string; effective: EffectiveLimits }>>();

/**
 * Layers, later wins: the plan's limits, the tenant's `overrides` in config, then a runtime
 * override set by a platform admin (which may also move the tenant to another plan) while it has
 * not expired. `fieldLimits` merge per field rather than replace each other.
 *
 * Asked up to three times per request (admission, the limit decision, metering) with the same
 * inputs: the result is remembered per config object, tenant and the runtime override in force
 * (overrides are replaced, never changed in place), and frozen, since every caller shares it.
 */
export function effectiveLimits(config: Config, tenantId: string, runtime: RuntimeOverride | undefined, now: number): EffectiveLimits {
  const active = runtime && (runtime.expiresAt === null || runtime.expiresAt > now) ? runtime : undefined;
  // Config, then billing, then an admin's override: one resolution for every view (billing/plan-in-force.ts).
  // Resolved on every call: a grace period or an override ends with time, not with a new object.
  const planId = planInForce(config, tenantId, runtime, now).planId;
  let byTenant = memo.get(config);
  if (!byTenant) {
    byTenant = new Map();
    memo.set(config, byTenant);
  }
  const known = byTenant.get(tenantId);
  if (known && known.active === active && known.planId === planId) return known.effective;
  const effective = computeEffectiveLimits(config, tenantId, active, planId);
  byTenant.set(tenantId, { active, planId, effective });
  return effective;
}

function computeEffectiveLimits(config: Config, tenantId: string, active: RuntimeOverride | undefined, planId: string): EffectiveLimits {
  const tenant = config.tenants[tenantId]!;
  const plan = config.plans[planId]!;
  const layers = [plan.limits, tenant.overrides, active?.limits ?? {}];
  const limits: PlanLimits = Object.assign({}, ...layers);
  const fieldLimits = Object.assign({}, ...layers.map((l) => l.fieldLimits ?? {}));
  if (Object.keys(fieldLimits).length > 0) limits.fieldLimits = Object.freeze(fieldLimits);
  return Object.freeze({ planId, planName: plan.displayName, limits: Object.freeze(limits), timeZone: tenant.timeZone, onStoreFailure: plan.onStoreFailure });
}
