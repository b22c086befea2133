import type { Resolvers } from '../graph/generated/resolvers-types.js';
import { tenantScope } from '../graph/context.js';
import { tenantForecasts } from '../usage/tenant-forecast.js';
import { slaOf, slaResolvers } from './sla-field.js';
import { syntheticHistoryOf } from './synthetic-field.js';
import { readUsage } from './usage.js';

/** The dashboard's additions to `usage` (schema/usage-dashboard.graphql). */
export const dashboardUsageResolvers: Resolvers = {
  // No field returns the interface itself (it exists for the dashboard's shared fragments); this
  // answers for any that would.
  UsageView: {
    __resolveType: (parent) => ('tenantId' in parent ? 'FleetTenantUsage' : 'Usage'),
  },
  Usage: {
    forecast: async (_parent, _args, ctx) => {
      const { principal } = tenantScope(ctx);
      const windows = await ctx.limitsView.windows(ctx.config, principal, ctx.ip);
      return readUsage(tenantForecasts({ usage: ctx.usage, tenantId: principal.tenantId, windows, now: Date.now() }));
    },
    sla: (_parent, { month }, ctx) => slaOf(ctx, tenantScope(ctx).principal.tenantId, month),
    syntheticHistory: (_parent, _args, ctx) => {
      tenantScope(ctx);
      return syntheticHistoryOf(ctx);
    },
  },
  ...slaResolvers,
};
