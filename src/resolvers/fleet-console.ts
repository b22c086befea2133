import type { Resolvers, UsageStatusFilter, FleetFilter as FleetFilterInput } from '../graph/generated/resolvers-types.js';
import { platformAdminScope } from '../graph/context.js';
import { GatewayError } from '../errors/gateway-error.js';
import { storeCall } from '../errors/store-unavailable.js';
import { NUMERIC_LIMITS } from './limit-values.js';
import { ANOMALY_FACTOR, ANOMALY_FLOOR_PER_MINUTE, BASELINE_MINUTES } from '../usage/anomalies.js';
import { fleetConsumers, fleetHistory, type FleetFilter } from '../usage/fleet-filter.js';
import { usageRange } from './usage-range.js';
import { planName, readUsage } from './usage.js';
import { syntheticHistoryOf } from './synthetic-field.js';

const STATUS: Record<UsageStatusFilter, FleetFilter['status']> = { OK: 'ok', ERROR: 'error', THROTTLED: 'throttled' };

function filterOf(input: FleetFilterInput | null | undefined): FleetFilter {
  const f: FleetFilter = {};
  if (!input) return f;
  if (input.tenantId) f.tenantId = input.tenantId;
  if (input.plan) f.plan = input.plan;
  if (input.client) f.client = input.client;
  if (input.rootField) f.rootField = input.rootField;
  if (input.status) f.status = STATUS[input.status];
  if (input.throttledBy) f.throttledBy = input.throttledBy;
  return f;
}

export const ANOMALY_RULE =
  `A tenant is flagged when its requests in the last complete minute exceed both ${ANOMALY_FACTOR}× its mean per minute ` +
  `over the ${BASELINE_MINUTES} minutes before and ${ANOMALY_FLOOR_PER_MINUTE} requests.`;

/** The platform console's fields of `fleetUsage` (platform-admin keys only, checked per field). */
export const fleetConsoleResolvers: Resolvers = {
  FleetUsage: {
    consumers: async (_parent, { filter, granularity, from, to, first }, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      const rows = await readUsage(fleetConsumers({ usage: ctx.usage, config: ctx.config }, filterOf(filter), usageRange(granularity, from, to)));
      return rows.slice(0, Math.max(0, first ?? 20)).map((r) => ({
        tenantId: r.tenantId,
        // A tenant no longer in the config keeps its id as its name.
        tenantName: ctx.config.tenants[r.tenantId]?.displayName ?? r.tenantId,
        plan: r.planId,
        planName: planName(ctx.config, r.planId),
        matching: r.matching,
        totals: r.totals,
      }));
    },
    history: async (_parent, { filter, granularity, from, to }, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      const points = await readUsage(fleetHistory({ usage: ctx.usage, config: ctx.config }, filterOf(filter), usageRange(granularity, from, to)));
      return points.map((p) => ({ start: p.start, partial: p.partial, totals: p }));
    },
    tenant: (_parent, { tenantId }, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      return Object.hasOwn(ctx.config.tenants, tenantId) ? { tenantId } : null;
    },
    directory: (_parent, _args, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      const clients = [...ctx.config.apiKeys, ...ctx.config.serviceTokens];
      return Object.entries(ctx.config.tenants).map(([id, t]) => {
        const plan = ctx.limitsView.effective(ctx.config, id).planId;
        return { id, displayName: t.displayName, plan, planName: planName(ctx.config, plan), clients: clients.filter((c) => c.tenant === id).map((c) => c.id) };
      });
    },
    anomalyRule: (_parent, _args, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      return ANOMALY_RULE;
    },
    limitChanges: async (_parent, { tenantId, first }, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      const n = first ?? 50;
      if (n < 0 || n > 1000) throw new GatewayError('BAD_USER_INPUT', `first must be between 0 and 1000: ${n}`, { extensions: { argument: 'first' } });
      return storeCall(
        'limit-overrides',
        'The audit list cannot be read: its store cannot be reached.',
        ctx.audit.list({ ...(tenantId ? { tenantId } : {}), first: n }),
      );
    },
    auditTrail: async (_parent, { tenantId, first, after }, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      const n = first ?? 50;
      if (n < 1 || n > 500) throw new GatewayError('BAD_USER_INPUT', `first must be between 1 and 500: ${n}`, { extensions: { argument: 'first' } });
      if (after != null && !/^[0-9a-z]{9}-[0-9a-z]{6}$/.test(after)) {
        throw new GatewayError('BAD_USER_INPUT', `after must be an endCursor from a previous page: ${JSON.stringify(after.slice(0, 40))}`, {
          extensions: { argument: 'after' },
        });
      }
      return storeCall(
        'limit-overrides',
        'The audit list cannot be read: its store cannot be reached.',
        ctx.audit.page({ ...(tenantId ? { tenantId } : {}), first: n, ...(after != null ? { after } : {}) }),
      );
    },
    health: async (_parent, _args, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      const health = await ctx.health();
      if (!health.admission) return { ...health, admission: null };
      // Names as every page writes them; a tenant no longer configured keeps its id.
      const recent = health.admission.recent.slice(0, 20).map((row) => ({
        ...row,
        tenantName: ctx.config.tenants[row.tenantId]?.displayName ?? row.tenantId,
        plan: row.planId,
        planName: planName(ctx.config, row.planId),
      }));
      return { ...health, admission: { ...health.admission, recent } };
    },
    syntheticHistory: (_parent, _args, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      return syntheticHistoryOf(ctx);
    },
  },
  LimitChange: {
    id: (c) => c.id ?? String(c.at),
    source: (c) => c.source ?? 'admin',
    eventId: (c) => c.eventId ?? null,
    before: (c) => c.before ?? null,
    after: (c) => c.after ?? null,
    at: (c) => new Date(c.at).toISOString(),
    plan: (c) => c.planId,
    expiresAt: (c) => (c.expiresAt === null ? null : new Date(c.expiresAt).toISOString()),
    limits: (c) => NUMERIC_LIMITS.flatMap((name) => (typeof c.limits[name] === 'number' ? [{ name, value: c.limits[name] as number }] : [])),
  },
};
