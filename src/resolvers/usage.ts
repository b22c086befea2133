import type { Resolvers } from '../graph/generated/resolvers-types.js';
import type { Config } from '../config/schema.js';
import { platformAdminScope, tenantScope } from '../graph/context.js';
import { limitValues } from './limit-values.js';
import { storeCall } from '../errors/store-unavailable.js';
import { asUserInput, usageRange } from './usage-range.js';
import { planView, tenantView, viewedAt } from './viewer.js';
import { assertMaySeeKey } from '../auth/publishable-policy.js';

/**
 * A usage-history read: a bad range is the client's input (BAD_USER_INPUT), an unreachable store
 * is STORE_UNAVAILABLE (503 with Retry-After when nothing else of the answer could be served).
 * The plan, limits and live windows do not need it and are served either way.
 */
export const readUsage = <T>(work: Promise<T>): Promise<T> =>
  asUserInput(storeCall('usage', 'Usage history is unavailable: its store cannot be reached.', work));

/** A plan's display name, as every page and message writes it; its id when the plan is no longer configured (usage outlives a plan). */
export function planName(config: Config, planId: string): string {
  return config.plans[planId]?.displayName ?? planId;
}

export const usageResolvers: Resolvers = {
  Query: {
    usage: (_root, _args, ctx) => {
      tenantScope(ctx);
      return {};
    },
    fleetUsage: (_root, _args, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      return {};
    },
    rateLimit: async (_root, _args, ctx) => {
      const { principal } = tenantScope(ctx);
      // Set when this operation was charged; a free one (only usage / rateLimit) reads the window.
      let budget = ctx.state.decided?.costBudget;
      if (!budget) {
        const window = (await ctx.limitsView.windows(ctx.config, principal, ctx.ip)).find((w) => w.dimension === 'cost');
        if (!window) return null;
        budget = { limit: window.limit, remaining: window.remaining, resetAt: window.resetAt, window: window.window };
      }
      return {
        limit: budget.limit,
        cost: Math.ceil(ctx.state.priced?.requested ?? 0),
        remaining: budget.remaining,
        resetAt: budget.resetAt,
        used: budget.limit - budget.remaining,
      };
    },
  },
  Usage: {
    tenant: (_parent, _args, ctx) => tenantView(ctx, tenantScope(ctx).principal.tenantId),
    limits: (_parent, _args, ctx) => {
      const { principal } = tenantScope(ctx);
      const e = ctx.limitsView.effective(ctx.config, principal.tenantId, viewedAt(ctx));
      return {
        plan: planView(ctx.config, ctx.limitsView.plan(ctx.config, principal.tenantId, viewedAt(ctx))),
        ...limitValues(e.limits),
        perClientShare: e.limits.perClientShare ?? null,
      };
    },
    windows: (_parent, _args, ctx) => {
      const { principal } = tenantScope(ctx);
      return ctx.limitsView.windows(ctx.config, principal, ctx.ip);
    },
    summary: async (_parent, { granularity, from, to }, ctx) => {
      const { principal } = tenantScope(ctx);
      return readUsage(ctx.usage.summary({ tenantId: principal.tenantId, ...usageRange(granularity, from, to) }));
    },
    history: async (_parent, { granularity, from, to, client, rootField }, ctx) => {
      const { principal } = tenantScope(ctx);
      if (client) assertMaySeeKey(principal, client);
      const range = usageRange(granularity, from, to);
      const points = await readUsage(
        ctx.usage.history({ tenantId: principal.tenantId, ...range, ...(client ? { client } : {}), ...(rootField ? { rootField } : {}) }),
      );
      return points.map((p) => ({ start: p.start, partial: p.partial, totals: p }));
    },
    byClient: async (_parent, { granularity, from, to }, ctx) => {
      const { principal } = tenantScope(ctx);
      assertMaySeeKey(principal, null);
      const rows = await readUsage(ctx.usage.breakdown({ tenantId: principal.tenantId, ...usageRange(granularity, from, to), by: 'client' }));
      return rows;
    },
    byRootField: async (_parent, { granularity, from, to }, ctx) => {
      const { principal } = tenantScope(ctx);
      return readUsage(ctx.usage.breakdown({ tenantId: principal.tenantId, ...usageRange(granularity, from, to), by: 'rootField' }));
    },
  },
  UsageTotals: {
    throttledPercent: (t) => (t.requests === 0 ? 0 : Math.round((t.throttled / t.requests) * 10_000) / 100),
    throttledBy: (t) => Object.entries(t.throttledBy).map(([reason, count]) => ({ reason, count })),
    latencyP50Ms: (t) => t.latency.p50,
    latencyP95Ms: (t) => t.latency.p95,
    latencyP99Ms: (t) => t.latency.p99,
    latencyMeanMs: (t) => t.latency.mean,
  },
  FleetUsage: {
    tenants: async (_parent, { granularity, from, to, first }, ctx) => {
      const rows = await readUsage(ctx.usage.tenants(usageRange(granularity, from, to)));
      return rows.slice(0, Math.max(0, first ?? 10)).map((r) => ({ tenantId: r.tenantId, plan: r.planId, totals: r.totals }));
    },
    plans: async (_parent, { granularity, from, to }, ctx) =>
      (await readUsage(ctx.usage.plans(usageRange(granularity, from, to)))).map((r) => ({
        plan: r.planId,
        planName: planName(ctx.config, r.planId),
        totals: r.totals,
      })),
    rootFields: async (_parent, { granularity, from, to, first }, ctx) =>
      (await readUsage(ctx.usage.rootFields(usageRange(granularity, from, to))))
        .slice(0, Math.max(0, first ?? 20))
        .map((r) => ({ key: r.rootField, totals: r.totals })),
    anomalies: (_parent, _args, ctx) => readUsage(ctx.usage.anomalies({ now: Date.now() })),
  },
};
