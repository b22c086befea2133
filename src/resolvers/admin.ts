import type { Resolvers } from '../graph/generated/resolvers-types.js';
import { platformAdminScope, type GatewayContext } from '../graph/context.js';
import { GatewayError } from '../errors/gateway-error.js';
import { storeCall } from '../errors/store-unavailable.js';
import { planLabel, requireTenant } from './tenant-arguments.js';
import type { PlanLimits } from '../config/schema.js';
import type { RuntimeOverride } from '../limits/overrides.js';
import { limitValues, NUMERIC_LIMITS } from './limit-values.js';
import { AUDIT_STORE_DOWN } from '../audit/limit-changes.js';

/** A write that timed out may still land: both mutations are idempotent, so a retry is safe. */
const OVERRIDE_STORE_DOWN =
  'Runtime limit overrides cannot be written: their store cannot be reached (a write that timed out may still apply; repeating it is safe).';

const requirePlatformAdmin = (ctx: GatewayContext) => platformAdminScope(ctx, 'Reading or changing runtime limits');

export const adminResolvers: Resolvers = {
  Query: {
    tenantLimitOverrides: (_root, _args, ctx) => {
      requirePlatformAdmin(ctx);
      return ctx.overrides.list();
    },
  },
  Mutation: {
    setTenantLimits: async (_root, { tenantId, input }, ctx) => {
      const setBy = requirePlatformAdmin(ctx);
      requireTenant(ctx, tenantId);
      if (input.plan != null && !Object.hasOwn(ctx.config.plans, input.plan)) {
        throw new GatewayError('BAD_USER_INPUT', `Unknown plan: "${input.plan}"`, { extensions: { argument: 'input.plan' } });
      }
      const limits: PlanLimits = {};
      for (const field of NUMERIC_LIMITS) {
        const value = input[field];
        if (value == null) continue;
        if (value < 0) throw new GatewayError('BAD_USER_INPUT', `input.${field} must be 0 or more: ${value}`, { extensions: { argument: `input.${field}` } });
        limits[field] = value;
      }
      if (input.expiresInSeconds != null && input.expiresInSeconds <= 0) {
        throw new GatewayError('BAD_USER_INPUT', `input.expiresInSeconds must be positive: ${input.expiresInSeconds}`);
      }
      const now = Date.now();
      const override: RuntimeOverride = {
        tenantId,
        planId: input.plan ?? null,
        limits,
        expiresAt: input.expiresInSeconds != null ? now + input.expiresInSeconds * 1000 : null,
        setBy,
        setAt: now,
      };
      const before = planLabel(ctx, tenantId);
      await storeCall('limit-overrides', OVERRIDE_STORE_DOWN, ctx.overrides.set(override));
      await storeCall(
        'limit-overrides',
        AUDIT_STORE_DOWN,
        ctx.audit.record({
          at: now,
          by: setBy,
          tenantId,
          action: 'set',
          planId: override.planId,
          limits,
          expiresAt: override.expiresAt,
          source: 'admin',
          before,
          after: planLabel(ctx, tenantId),
        }),
      );
      ctx.logger.info({ tenantId, setBy, planId: override.planId, limits, expiresAt: override.expiresAt }, 'runtime limit override set');
      return override;
    },
    clearTenantLimits: async (_root, { tenantId }, ctx) => {
      const by = requirePlatformAdmin(ctx);
      requireTenant(ctx, tenantId);
      const before = planLabel(ctx, tenantId);
      await storeCall('limit-overrides', OVERRIDE_STORE_DOWN, ctx.overrides.clear(tenantId));
      await storeCall(
        'limit-overrides',
        AUDIT_STORE_DOWN,
        ctx.audit.record({
          at: Date.now(),
          by,
          tenantId,
          action: 'clear',
          planId: null,
          limits: {},
          expiresAt: null,
          source: 'admin',
          before,
          after: planLabel(ctx, tenantId),
        }),
      );
      ctx.logger.info({ tenantId, by }, 'runtime limit override cleared');
      return true;
    },
  },
  TenantLimitOverride: {
    plan: (o) => o.planId,
    expiresAt: (o) => (o.expiresAt === null ? null : new Date(o.expiresAt).toISOString()),
    ...Object.fromEntries(NUMERIC_LIMITS.map((f) => [f, (o: RuntimeOverride) => limitValues(o.limits)[f]])),
  },
};
