import type { Resolvers } from '../graph/generated/resolvers-types.js';
import { platformAdminScope, type GatewayContext } from '../graph/context.js';
import type { TenantPrincipal } from '../auth/principal.js';
import { tenantForecasts } from '../usage/tenant-forecast.js';
import { limitValues } from './limit-values.js';
import { usageRange } from './usage-range.js';
import { readUsage } from './usage.js';
import { planView, tenantView, viewedAt } from './viewer.js';
import { slaOf } from './sla-field.js';
import { syntheticHistoryOf } from './synthetic-field.js';

/** Windows that belong to one caller (a key, an IP), not to the tenant: left out of the admin's view. */
const PER_CALLER_POLICIES = new Set(['client-minute', 'ip-minute']);

/**
 * The tenant's windows as no particular caller sees them: a peek (consumes nothing) with a
 * principal of that tenant and no key, minus the per-key and per-IP windows.
 */
async function tenantWindows(ctx: GatewayContext, tenantId: string) {
  const principal: TenantPrincipal = { kind: 'apiKey', clientId: '-', tenantId, planId: ctx.config.tenants[tenantId]!.plan, role: 'viewer' };
  return (await ctx.limitsView.windows(ctx.config, principal, '-')).filter((w) => !PER_CALLER_POLICIES.has(w.policy));
}

/** Every field checks the platform-admin key again: the type is only reachable through fleetUsage, but that is not the guard. */
const admin = (ctx: GatewayContext) => platformAdminScope(ctx, 'fleetUsage');

export const fleetTenantResolvers: Resolvers = {
  FleetTenantUsage: {
    tenant: ({ tenantId }, _args, ctx) => {
      admin(ctx);
      return tenantView(ctx, tenantId);
    },
    limits: ({ tenantId }, _args, ctx) => {
      admin(ctx);
      const e = ctx.limitsView.effective(ctx.config, tenantId, viewedAt(ctx));
      return {
        plan: planView(ctx.config, ctx.limitsView.plan(ctx.config, tenantId, viewedAt(ctx))),
        ...limitValues(e.limits),
        perClientShare: e.limits.perClientShare ?? null,
      };
    },
    windows: ({ tenantId }, _args, ctx) => {
      admin(ctx);
      return tenantWindows(ctx, tenantId);
    },
    history: async ({ tenantId }, { granularity, from, to, client, rootField }, ctx) => {
      admin(ctx);
      const points = await readUsage(
        ctx.usage.history({ tenantId, ...usageRange(granularity, from, to), ...(client ? { client } : {}), ...(rootField ? { rootField } : {}) }),
      );
      return points.map((p) => ({ start: p.start, partial: p.partial, totals: p }));
    },
    byClient: ({ tenantId }, { granularity, from, to }, ctx) => {
      admin(ctx);
      return readUsage(ctx.usage.breakdown({ tenantId, ...usageRange(granularity, from, to), by: 'client' }));
    },
    byRootField: ({ tenantId }, { granularity, from, to }, ctx) => {
      admin(ctx);
      return readUsage(ctx.usage.breakdown({ tenantId, ...usageRange(granularity, from, to), by: 'rootField' }));
    },
    forecast: async ({ tenantId }, _args, ctx) => {
      admin(ctx);
      return readUsage(tenantForecasts({ usage: ctx.usage, tenantId, windows: await tenantWindows(ctx, tenantId), now: Date.now() }));
    },
    sla: ({ tenantId }, { month }, ctx) => {
      admin(ctx);
      return slaOf(ctx, tenantId, month);
    },
    syntheticHistory: (_parent, _args, ctx) => {
      admin(ctx);
      return syntheticHistoryOf(ctx);
    },
  },
};
