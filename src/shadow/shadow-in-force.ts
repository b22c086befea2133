import { sha256Hex } from '../config/hash.js';
import type { Config, PlanLimits, ShadowSpec } from '../config/schema.js';
import type { EffectiveLimits } from '../limits/effective-limits.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import type { RuntimeShadow } from './runtime-shadows.js';

/** Where a tenant's shadow comes from, later wins: its plan's, its own in config, an admin's at run time. */
export type ShadowSource = 'plan' | 'tenant' | 'runtime';

/** The limits a tenant's requests are evaluated against in shadow. */
export interface ShadowInForce {
  source: ShadowSource;
  /** The plan evaluated: the shadow's `plan`, or the tenant's plan in force. */
  planId: string;
  /** As written (config or the admin's mutation). */
  spec: ShadowSpec;
  /** What is evaluated: the plan's limits, the tenant's overrides (config, then runtime), then the spec's `limits`. */
  limits: PlanLimits;
  /**
   * Names the shadow's counters and record (`rl:{tenant}:shadow:<id>:...`): a hash of `planId` and
   * `limits`, so a changed shadow starts on counters of its own, and every instance agrees.
   */
  id: string;
}

/** The last result per config object and tenant, keyed on the layers it was computed from (replaced, never changed in place). */
const memo = new WeakMap<
  Config,
  Map<string, { planId: string; active: RuntimeOverride | undefined; runtime: RuntimeShadow | undefined; result: ShadowInForce | null }>
>();

/**
 * The shadow in force for a tenant (null: none). Asked on every request of every tenant: remembered
 * per config object, tenant, plan in force, runtime override and runtime shadow, and frozen.
 */
export function shadowInForce(
  config: Config,
  tenantId: string,
  effective: EffectiveLimits,
  runtime: RuntimeOverride | undefined,
  runtimeShadow: RuntimeShadow | undefined,
  now: number,
): ShadowInForce | null {
  const active = runtime && (runtime.expiresAt === null || runtime.expiresAt > now) ? runtime : undefined;
  let byTenant = memo.get(config);
  if (!byTenant) {
    byTenant = new Map();
    memo.set(config, byTenant);
  }
  const known = byTenant.get(tenantId);
  if (known && known.planId === effective.planId && known.active === active && known.runtime === runtimeShadow) return known.result;
  const result = compute(config, tenantId, effective.planId, active, runtimeShadow);
  byTenant.set(tenantId, { planId: effective.planId, active, runtime: runtimeShadow, result });
  return result;
}

function compute(
  config: Config,
  tenantId: string,
  planId: string,
  active: RuntimeOverride | undefined,
  runtimeShadow: RuntimeShadow | undefined,
): ShadowInForce | null {
  const tenant = config.tenants[tenantId];
  if (!tenant) return null;
  const chosen = specOf(config, tenantId, planId, runtimeShadow);
  if (!chosen) return null;
  const { spec, source } = chosen;
  const shadowPlanId = spec.plan ?? planId;
  const plan = config.plans[shadowPlanId];
  // A runtime shadow naming a plan a reload removed: nothing to evaluate.
  if (!plan) return null;
  const layers = [plan.limits, tenant.overrides, active?.limits ?? {}, spec.limits];
  const limits: PlanLimits = Object.assign({}, ...layers);
  const fieldLimits = Object.assign({}, ...layers.map((l) => l.fieldLimits ?? {}));
  if (Object.keys(fieldLimits).length > 0) limits.fieldLimits = Object.freeze(fieldLimits);
  const id = sha256Hex(JSON.stringify([shadowPlanId, sorted(limits)])).slice(0, 10);
  return Object.freeze({ source, planId: shadowPlanId, spec, limits: Object.freeze(limits), id });
}

function specOf(config: Config, tenantId: string, planId: string, runtimeShadow: RuntimeShadow | undefined): { spec: ShadowSpec; source: ShadowSource } | null {
  if (runtimeShadow) return runtimeShadow.spec ? { spec: runtimeShadow.spec, source: 'runtime' } : null;
  const own = config.tenants[tenantId]?.shadow;
  if (own) return { spec: own, source: 'tenant' };
  const ofPlan = config.plans[planId]?.shadow;
  return ofPlan ? { spec: ofPlan, source: 'plan' } : null;
}

/** Keys in order at every level, so the id does not depend on the order the layers named them in. */
function sorted(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
  );
}
