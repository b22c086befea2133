import type { TenantPrincipal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import { buildDimensions } from './dimensions.js';
import { effectiveLimits, type EffectiveLimits } from './effective-limits.js';
import type { Limiter } from './limiter.js';
import type { OverridesStore } from './overrides.js';
import { planInForce, type PlanInForce } from '../billing/plan-in-force.js';

/** One limit window as the `usage` query shows it. */
export interface WindowView {
  policy: string;
  dimension: string;
  window: string;
  limit: number;
  used: number;
  remaining: number;
  resetAt: string;
}

/**
 * Read-only views of a tenant's limits for the `usage` query: the limits in force, and the state
 * of every window now (one store `peek`, consuming nothing). Per-field limits are shown for the
 * fields the plan limits, per-IP for the caller's own address.
 */
export function createLimitsView(deps: { limiter: Limiter; overrides: OverridesStore }) {
  return {
    /** `at`: the instant the limits are read for (epoch ms; default now): one response's fields all read the same one. */
    effective(config: Config, tenantId: string, at = Date.now()): EffectiveLimits {
      return effectiveLimits(config, tenantId, deps.overrides.get(tenantId), at);
    },
    /** The tenant's plan with where it comes from and until when (the same resolution as `effective`). */
    plan(config: Config, tenantId: string, at = Date.now()): PlanInForce {
      return planInForce(config, tenantId, deps.overrides.get(tenantId), at);
    },
    async windows(config: Config, principal: TenantPrincipal, ip: string): Promise<WindowView[]> {
      const effective = this.effective(config, principal.tenantId);
      const dims = buildDimensions({
        tenantId: principal.tenantId,
        clientId: principal.clientId,
        ip,
        limits: effective.limits,
        timeZone: effective.timeZone,
        rootFields: Object.keys(effective.limits.fieldLimits ?? {}),
        cost: 0,
      });
      if (dims.length === 0) return [];
      const { decision } = await deps.limiter.peek(dims.map((d) => d.store));
      return dims.map((d, i) => {
        const r = decision.results[i]!;
        return {
          policy: d.policy,
          dimension: d.kind,
          window: d.window,
          limit: r.limit,
          used: r.used,
          remaining: r.remaining,
          resetAt: new Date(r.resetAt).toISOString(),
        };
      });
    },
  };
}

export type LimitsView = ReturnType<typeof createLimitsView>;
