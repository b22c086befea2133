import type { Resolvers } from '../graph/generated/resolvers-types.js';
import type { GatewayContext } from '../graph/context.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { PlanLimits } from '../config/schema.js';
import type { RuntimeOverride } from '../limits/overrides.js';

const LIMIT_FIELDS = ['requestsPerMinute', 'requestsPerDay', 'requestsPerMonth', 'costPerMinute', 'maxOperationCost', 'responseBytesPerHour', 'perIpPerMinute'] as const;

function requirePlatformAdmin(ctx: GatewayContext): string {
  if (ctx.principal.kind !== 'platformAdmin') {
    throw new GatewayError('FORBIDDEN', 'Only platform-admin keys may read or change runtime limits.');
  }
  return ctx.principal.clientId;
}

function requireTenant(ctx: GatewayContext, tenantId: string): void {
  if (!Object.hasOwn(ctx.config.tenants, tenantId)) {
    throw new GatewayError('BAD_USER_INPUT', `Unknown tenant: "${tenantId}"`, { extensions: { argument: 'tenantId' } });
  }
}

const numberOrNull = (value: PlanLimits[keyof PlanLimits]) => (typeof value === 'number' ? value : null);

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
      for (const field of LIMIT_FIELDS) {
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
      await ctx.overrides.set(override);
      ctx.logger.info({ tenantId, setBy, planId: override.planId, limits, expiresAt: override.expiresAt }, 'runtime limit override set');
      return override;
    },
    clearTenantLimits: async (_root, { tenantId }, ctx) => {
      const by = requirePlatformAdmin(ctx);
      requireTenant(ctx, tenantId);
      await ctx.overrides.clear(tenantId);
      ctx.logger.info({ tenantId, by }, 'runtime limit override cleared');
      return true;
    },
  },
  TenantLimitOverride: {
    plan: (o) => o.planId,
    expiresAt: (o) => (o.expiresAt === null ? null : new Date(o.expiresAt).toISOString()),
    ...Object.fromEntries(LIMIT_FIELDS.map((f) => [f, (o: RuntimeOverride) => numberOrNull(o.limits[f])])),
  },
};
