import type { PlanLimits } from '../config/schema.js';
import { AUDIT_STORE_DOWN } from '../audit/limit-changes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { storeCall } from '../errors/store-unavailable.js';
import { planLabel, requireTenant } from './tenant-arguments.js';
import type { Resolvers, ShadowLimitsInput } from '../graph/generated/resolvers-types.js';
import { platformAdminScope, type GatewayContext } from '../graph/context.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import { shadowReport, type ShadowReportRow } from '../shadow/shadow-report.js';
import { NUMERIC_LIMITS } from './limit-values.js';

const SHADOW_STORE_DOWN =
  'Shadow limits cannot be read or written: their store cannot be reached (a write that timed out may still apply; repeating it is safe).';

const requirePlatformAdmin = (ctx: GatewayContext) => platformAdminScope(ctx, 'Reading or changing shadow limits');

/** The input's limit values, each checked as `setTenantLimits` checks them. */
function limitsOf(input: ShadowLimitsInput): PlanLimits {
  const limits: PlanLimits = {};
  for (const field of NUMERIC_LIMITS) {
    const value = input[field];
    if (value == null) continue;
    if (value < 0) throw new GatewayError('BAD_USER_INPUT', `input.${field} must be 0 or more: ${value}`, { extensions: { argument: `input.${field}` } });
    limits[field] = value;
  }
  return limits;
}

/** The row of one tenant's shadow as the API shows it, after a change (its record read anew). */
async function rowOf(ctx: GatewayContext, tenantId: string): Promise<ShadowReportRow | null> {
  const rows = await storeCall('limit-overrides', SHADOW_STORE_DOWN, shadowReport(ctx.shadows, ctx.config, Date.now()));
  return rows.find((r) => r.tenantId === tenantId) ?? null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const shadowResolvers: Resolvers = {
  Mutation: {
    setShadowLimits: async (_root, { tenantId, input }, ctx) => {
      const setBy = requirePlatformAdmin(ctx);
      requireTenant(ctx, tenantId);
      if (input.plan != null && !Object.hasOwn(ctx.config.plans, input.plan)) {
        throw new GatewayError('BAD_USER_INPUT', `Unknown plan: "${input.plan}"`, { extensions: { argument: 'input.plan' } });
      }
      const limits = limitsOf(input);
      const now = Date.now();
      const spec = { ...(input.plan != null ? { plan: input.plan } : {}), limits };
      await storeCall('limit-overrides', SHADOW_STORE_DOWN, ctx.shadows.runtime.set({ tenantId, spec, setBy, setAt: now }));
      const plan = planLabel(ctx, tenantId);
      await storeCall(
        'limit-overrides',
        AUDIT_STORE_DOWN,
        ctx.audit.record({
          at: now,
          by: setBy,
          tenantId,
          action: 'shadow',
          planId: input.plan ?? null,
          limits,
          expiresAt: null,
          source: 'admin',
          before: plan,
          after: plan,
        }),
      );
      ctx.logger.info({ tenantId, setBy, spec }, 'shadow limits set');
      return rowOf(ctx, tenantId);
    },
    clearShadowLimits: async (_root, { tenantId }, ctx) => {
      const by = requirePlatformAdmin(ctx);
      requireTenant(ctx, tenantId);
      await storeCall('limit-overrides', SHADOW_STORE_DOWN, ctx.shadows.runtime.clear(tenantId));
      const plan = planLabel(ctx, tenantId);
      await storeCall(
        'limit-overrides',
        AUDIT_STORE_DOWN,
        ctx.audit.record({
          at: Date.now(),
          by,
          tenantId,
          action: 'shadow-clear',
          planId: null,
          limits: {},
          expiresAt: null,
          source: 'admin',
          before: plan,
          after: plan,
        }),
      );
      ctx.logger.info({ tenantId, by }, 'shadow limits cleared');
      return true;
    },
    promoteShadowLimits: async (_root, { tenantId }, ctx) => {
      const setBy = requirePlatformAdmin(ctx);
      requireTenant(ctx, tenantId);
      const now = Date.now();
      const shadow = ctx.shadows.inForce(ctx.config, tenantId, now);
      if (!shadow)
        throw new GatewayError('BAD_USER_INPUT', `No shadow limits cover tenant "${tenantId}": nothing to promote`, { extensions: { argument: 'tenantId' } });
      // What the shadow evaluated becomes enforced: its plan, and its own values over the runtime
      // override's. A shadow that names no plan moves the tenant to none: its plan keeps coming from
      // where it did (config, billing, the override), as it did while the shadow was evaluated.
      const current = ctx.overrides.get(tenantId);
      const active = current && (current.expiresAt === null || current.expiresAt > now) ? current : undefined;
      const override: RuntimeOverride = {
        tenantId,
        planId: shadow.spec.plan ?? active?.planId ?? null,
        limits: { ...(active?.limits ?? {}), ...shadow.spec.limits },
        expiresAt: null,
        setBy,
        setAt: now,
      };
      const before = planLabel(ctx, tenantId);
      await storeCall('limit-overrides', SHADOW_STORE_DOWN, ctx.overrides.set(override));
      // The shadow is now enforced: switched off for the tenant (also a config one), so it stops counting.
      await storeCall('limit-overrides', SHADOW_STORE_DOWN, ctx.shadows.runtime.set({ tenantId, spec: null, setBy, setAt: now }));
      await storeCall(
        'limit-overrides',
        AUDIT_STORE_DOWN,
        ctx.audit.record({
          at: now,
          by: setBy,
          tenantId,
          action: 'promote',
          planId: override.planId,
          limits: override.limits,
          expiresAt: null,
          source: 'admin',
          before,
          after: planLabel(ctx, tenantId),
        }),
      );
      ctx.logger.info({ tenantId, setBy, planId: override.planId, limits: override.limits, shadow: shadow.id }, 'shadow limits promoted');
      return override;
    },
  },
  FleetUsage: {
    shadowLimits: async (_parent, _args, ctx) => {
      platformAdminScope(ctx, 'fleetUsage');
      return storeCall('limit-overrides', SHADOW_STORE_DOWN, shadowReport(ctx.shadows, ctx.config, Date.now()));
    },
  },
  ShadowLimits: {
    tenantName: (row, _args, ctx) => ctx.config.tenants[row.tenantId]?.displayName ?? row.tenantId,
    plan: (row, _args, ctx) => ctx.limitsView.effective(ctx.config, row.tenantId).planId,
    shadowPlan: (row) => row.inForce.planId,
    source: (row) => row.inForce.source,
    id: (row) => row.inForce.id,
    limits: (row) =>
      NUMERIC_LIMITS.flatMap((name) => (typeof row.inForce.limits[name] === 'number' ? [{ name, value: row.inForce.limits[name] as number }] : [])),
    firstRefusedAt: (row) => iso(row.firstRefusedAt),
    lastRefusedAt: (row) => iso(row.lastRefusedAt),
  },
  ShadowRefusal: {
    firstAt: (r) => new Date(r.firstAt).toISOString(),
    lastAt: (r) => new Date(r.lastAt).toISOString(),
  },
};
