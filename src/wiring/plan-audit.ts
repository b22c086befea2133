import { isDeepStrictEqual } from 'node:util';
import type { AuditLog } from '../audit/limit-changes.js';
import { planInForce, type PlanInForce } from '../billing/plan-in-force.js';
import type { Config } from '../config/schema.js';
import type { ConfigSource } from '../config/source.js';
import { sha256Hex } from '../config/hash.js';
import type { OverridesStore } from '../limits/overrides.js';
import type { Logger } from '../observability/logger.js';

const label = (plan: PlanInForce) => `${plan.planId} (${plan.source})`;

/**
 * The audit entries no request writes: a config reload that moves a tenant to another plan or
 * changes its limits, and a layer running out (a temporary override, a past-due grace period).
 * Every instance notices them at the same moment, so each is recorded once fleet-wide
 * (`recordOnce`, keyed by the new config's hash or the expiry time). Admin mutations and billing
 * events record their own entries where they happen.
 */
export function auditPlanChanges(deps: { config: ConfigSource; overrides: OverridesStore; audit: AuditLog; logger: Logger; intervalMs?: number }): () => void {
  const { config, overrides, audit, logger } = deps;
  const failed = (err: unknown) => logger.warn({ err: (err as Error).message }, 'could not write an audit entry');

  const stopReloads = config.onChange((next, previous) => {
    const now = Date.now();
    // Only what decides plans and limits: instances differ in what the environment sets (PORT, REDIS_URL).
    const version = sha256Hex(
      JSON.stringify([previous.plans, previous.tenants, previous.defaultPlan, next.plans, next.tenants, next.defaultPlan, next.billing.prices]),
    ).slice(0, 16);
    for (const tenantId of Object.keys(next.tenants)) {
      const after = planInForce(next, tenantId, overrides.get(tenantId), now);
      const before = previous.tenants[tenantId] ? planInForce(previous, tenantId, overrides.get(tenantId), now) : null;
      const limitsChanged = !isDeepStrictEqual(limitsOf(previous, tenantId, before), limitsOf(next, tenantId, after));
      if (before && before.planId === after.planId && before.source === after.source && !limitsChanged) continue;
      const change = {
        at: now,
        by: 'config',
        tenantId,
        action: 'reload',
        planId: after.planId,
        limits: next.tenants[tenantId]!.overrides,
        expiresAt: null,
      } as const;
      audit
        .recordOnce(`reload:${version}:${tenantId}`, { ...change, source: 'config', before: before ? label(before) : null, after: label(after) })
        .catch(failed);
    }
  });

  // What each tenant's plan was at the last look, to tell the moment a layer runs out.
  let seen = new Map<string, PlanInForce>();
  const timer = setInterval(() => {
    const current = config.current();
    const now = Date.now();
    const next = new Map<string, PlanInForce>();
    for (const tenantId of Object.keys(current.tenants)) {
      const plan = planInForce(current, tenantId, overrides.get(tenantId), now);
      next.set(tenantId, plan);
      const was = seen.get(tenantId);
      if (!was || was.expiresAt === null || was.expiresAt > now) continue;
      const change = { at: was.expiresAt, by: 'clock', tenantId, action: 'expired', planId: plan.planId, limits: {}, expiresAt: null } as const;
      audit
        .recordOnce(`expiry:${tenantId}:${was.source}:${was.expiresAt}`, { ...change, source: 'expiry', before: label(was), after: label(plan) })
        .catch(failed);
    }
    seen = next;
  }, deps.intervalMs ?? 1000);
  timer.unref();

  return () => {
    stopReloads();
    clearInterval(timer);
  };
}

/** The limits a tenant's file entry and plan give it (runtime layers left out: they did not change in a reload). */
function limitsOf(config: Config, tenantId: string, plan: PlanInForce | null) {
  const tenant = config.tenants[tenantId];
  if (!tenant || !plan) return null;
  return [config.plans[plan.planId]?.limits, tenant.overrides];
}
