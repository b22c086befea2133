import type { Config } from '../config/schema.js';
import { effectiveLimits } from '../limits/effective-limits.js';
import type { OverridesStore } from '../limits/overrides.js';
import type { ShadowSide } from '../limits/shadow-side.js';
import type { RuntimeShadows } from './runtime-shadows.js';
import { buildShadowCharge, shadowSettle } from './shadow-charge.js';
import { shadowInForce, type ShadowInForce } from './shadow-in-force.js';

/** A would-be refusal, for metrics: the enforced plan, the shadow's, and the policy that would have refused. */
export interface ShadowRefusalEvent {
  tenantId: string;
  planId: string;
  shadowPlanId: string;
  policy: string;
}

/**
 * Shadow limits (SHADOW.md): which shadow covers a tenant (config, then an admin's at run time),
 * and the shadow group each of its requests carries in its limit check.
 */
export function createShadows(deps: { overrides: OverridesStore; runtime: RuntimeShadows; onRefusal?: (event: ShadowRefusalEvent) => void }) {
  const { overrides, runtime } = deps;

  /** The shadow covering `tenantId` now; null: none. */
  const inForce = (config: Config, tenantId: string, now: number): ShadowInForce | null => {
    if (!Object.hasOwn(config.tenants, tenantId)) return null;
    const override = overrides.get(tenantId);
    return shadowInForce(config, tenantId, effectiveLimits(config, tenantId, override, now), override, runtime.get(tenantId), now);
  };

  const side: ShadowSide = {
    charge(request, effective) {
      const { config, principal, now } = request;
      const found = shadowInForce(config, principal.tenantId, effective, request.runtime, runtime.get(principal.tenantId), now);
      if (!found) return null;
      const charge = buildShadowCharge({ ...request, effective, inForce: found });
      if (!charge) return null;
      return {
        check: charge.check,
        decided(verdict, planId) {
          if (verdict.refusedBy !== null) deps.onRefusal?.({ tenantId: principal.tenantId, planId, shadowPlanId: found.planId, policy: verdict.refusedBy });
        },
        settle: (verdict, decisionNow, actualCost, responseBytes) => shadowSettle(charge, verdict, decisionNow, actualCost, responseBytes),
      };
    },
    covers: (config, tenantId, now) => inForce(config, tenantId, now) !== null,
  };
  return { side, inForce, runtime };
}

export type Shadows = ReturnType<typeof createShadows>;
