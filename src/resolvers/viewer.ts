import type { Resolvers } from '../graph/generated/resolvers-types.js';
import type { Config, Role } from '../config/schema.js';
import type { PlanInForce } from '../billing/plan-in-force.js';
import type { GatewayContext } from '../graph/context.js';

const KIND = { apiKey: 'API_KEY', service: 'SERVICE', platformAdmin: 'PLATFORM_ADMIN' } as const;

export function roleEnum(role: Role) {
  return role.toUpperCase() as 'ADMIN' | 'SUPPORT' | 'VIEWER';
}

/** A plan as the schema shows it (`Plan`): the plan in force, where it comes from and until when. */
export function planView(config: Config, plan: PlanInForce) {
  return {
    id: plan.planId,
    displayName: config.plans[plan.planId]!.displayName,
    source: plan.source.toUpperCase() as 'CONFIG' | 'DEFAULT' | 'BILLING' | 'OVERRIDE',
    expiresAt: plan.expiresAt === null ? null : new Date(plan.expiresAt).toISOString(),
  };
}

/** A tenant as the schema shows it (`Tenant`): config, with the plan in force (the same one its limits use). */
export function tenantView(ctx: Pick<GatewayContext, 'config' | 'limitsView' | 'state'>, tenantId: string) {
  const tenant = ctx.config.tenants[tenantId]!;
  return {
    id: tenantId,
    displayName: tenant.displayName,
    timeZone: tenant.timeZone,
    plan: planView(ctx.config, ctx.limitsView.plan(ctx.config, tenantId, viewedAt(ctx))),
  };
}

/**
 * The instant a response's views of plans and limits are read for: the request's start, so that
 * two fields of one response (`viewer.tenant.plan`, `usage.limits.plan`) never straddle a plan's
 * change (a grace period or an override ending while the response is resolved).
 */
export function viewedAt(ctx: Pick<GatewayContext, 'state'>): number {
  return ctx.state?.accepted.startedAt ?? Date.now();
}

export const viewerResolvers: Resolvers = {
  Query: {
    viewer: (_root, _args, ctx) => {
      const p = ctx.principal;
      if (p.kind === 'platformAdmin') return { kind: KIND[p.kind], clientId: p.clientId, role: null, tenant: null };
      return { kind: KIND[p.kind], clientId: p.clientId, role: roleEnum(p.role), tenant: tenantView(ctx, p.tenantId) };
    },
  },
};
