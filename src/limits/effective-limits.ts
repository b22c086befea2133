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

/**
 * Layers, later wins: the plan's limits, the tenant's `overrides` in config, then a runtime
 * override set by a platform admin (which may also move the tenant to another plan) while it has
 * not expired. `fieldLimits` merge per field rather than replace each other.
 */
export function effectiveLimits(config: Config, tenantId: string, runtime: RuntimeOverride | undefined, now: number): EffectiveLimits {
  const tenant = config.tenants[tenantId]!;
  const active = runtime && (runtime.expiresAt === null || runtime.expiresAt > now) ? runtime : undefined;
  // Config, then billing, then an admin's override: one resolution for every view (billing/plan-in-force.ts).
  const planId = planInForce(config, tenantId, runtime, now).planId;
  const plan = config.plans[planId]!;
  const layers = [plan.limits, tenant.overrides, active?.limits ?? {}];
  const limits: PlanLimits = Object.assign({}, ...layers);
  const fieldLimits = Object.assign({}, ...layers.map((l) => l.fieldLimits ?? {}));
  if (Object.keys(fieldLimits).length > 0) limits.fieldLimits = fieldLimits;
  return { planId, planName: plan.displayName, limits, timeZone: tenant.timeZone, onStoreFailure: plan.onStoreFailure };
}
