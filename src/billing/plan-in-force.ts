import type { Config } from '../config/schema.js';
import { billingPlanAt, type BillingPlan } from './billing-plan.js';

/** Where a tenant's plan comes from, lowest layer first: the file, its `defaultPlan`, billing, a platform admin's override. */
export type PlanSource = 'config' | 'default' | 'billing' | 'override';

/** The one answer to "which plan is this tenant on": every view (limits, headers, GraphQL, docs, metering) reads this. */
export interface PlanInForce {
  planId: string;
  source: PlanSource;
  /** Epoch ms this layer stops applying (a temporary override, a grace period); null: until changed. */
  expiresAt: number | null;
}

/** The layers above the config file, as the overrides store hands them out (limits/overrides.ts). */
export interface PlanLayers {
  /** An admin's runtime override that may move the tenant to a plan; `planId` null leaves the plan alone. */
  planId: string | null;
  expiresAt: number | null;
  billing?: BillingPlan;
}

/**
 * Layers, later wins: the tenant's plan in the file (or `defaultPlan`), then billing, then a
 * platform admin's override while it has not expired. A layer naming a plan that a reload removed
 * is skipped, so the answer is always a configured plan.
 */
export function planInForce(config: Config, tenantId: string, layers: PlanLayers | undefined, now: number): PlanInForce {
  const tenant = config.tenants[tenantId]!;
  const override = layers && layers.planId !== null && (layers.expiresAt === null || layers.expiresAt > now) ? layers.planId : null;
  if (override !== null && Object.hasOwn(config.plans, override)) return { planId: override, source: 'override', expiresAt: layers!.expiresAt };
  const billed = layers?.billing ? billingPlanAt(config, layers.billing, now) : null;
  if (billed && Object.hasOwn(config.plans, billed.planId)) return { planId: billed.planId, source: 'billing', expiresAt: billed.expiresAt };
  return { planId: tenant.plan, source: tenant.planFromDefault ? 'default' : 'config', expiresAt: null };
}
